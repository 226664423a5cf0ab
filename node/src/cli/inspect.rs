//! `rampart inspect <file>`: what a Rampart file holds, without printing secrets.

use std::path::Path;

use bootstrap::{bundle, certfile, credential};
use overlay::cert::Certificate;

use rampart::timeutil::show;

pub fn run(path: &Path) -> anyhow::Result<()> {
    if let Ok(cert) = certfile::read(path) {
        print_cert("certificate", &cert);
        return Ok(());
    }
    if let Ok(cred) = credential::read(path) {
        print_cert("client credential (secret key not shown)", &cred.cert);
        return Ok(());
    }
    if path.file_name().is_some_and(|n| n == "transfer.state") {
        return print_transfer_state(path);
    }
    match bundle::read(path) {
        Ok(b) => {
            println!("genesis bundle for node {}", b.node);
            println!("  authority   {}", hex::encode(b.authority.as_bytes()));
            println!("  MS key      {}", hex::encode(b.ms_key.as_bytes()));
            println!(
                "  epoch {}   config {}   {} members",
                b.config.epoch,
                b.config.hash(),
                b.config.members.len()
            );
            println!(
                "  key share   {}",
                if b.share.is_some() {
                    "yes (secret, not shown)"
                } else {
                    "no"
                }
            );
            Ok(())
        }
        // Report the certificate reading error: it says what the file seems to be.
        Err(_) => Err(certfile::read(path)
            .err()
            .map(anyhow::Error::from)
            .unwrap_or_else(|| anyhow::anyhow!("unreadable"))),
    }
}

fn print_cert(what: &str, cert: &Certificate) {
    let c = &cert.content;
    println!("{what}: {}", certfile::describe(&c.body));
    println!("  id          {}", cert.id());
    println!("  authority   {}", hex::encode(cert.authority.as_bytes()));
    println!("  issued      {}", show(c.issued_at));
    println!(
        "  valid       {} .. {}",
        show(c.not_before),
        show(c.not_after)
    );
}

/// A node's saved state-transfer plan (`<data_dir>/transfer.state`).
fn print_transfer_state(path: &Path) -> anyhow::Result<()> {
    use overlay::transfer::mover::Saved;
    let bytes = std::fs::read(path)?;
    let saved: Saved = overlay::encoding::decode(&bytes, 64 * 1024 * 1024)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let epoch = saved.epoch.map_or("none".to_string(), |e| e.0.to_string());
    println!("state transfer plan, epoch {epoch}");
    for (e, log) in &saved.log {
        println!(
            "  epoch {:>4}: owns {:5.1}% of the ring, {:5.1}% of it not held completely",
            e.0,
            log.owned.share() * 100.0,
            log.incomplete.share() * 100.0
        );
    }
    println!("  {} ranges pending:", saved.pending.len());
    for p in &saved.pending {
        let group: Vec<String> = p
            .group
            .iter()
            .map(|n| n.to_string()[..8].to_string())
            .collect();
        println!(
            "    {:?} since epoch {} from epoch {}'s group [{}], {} objects so far, cursor {}",
            p.range,
            p.since.0,
            p.source.0,
            group.join(" "),
            p.objects,
            p.cursor.map_or("start".to_string(), |c| c.short())
        );
    }
    println!(
        "  may hold data outside what it owns on {:.1}% of the ring",
        saved
            .log
            .get(&saved.epoch.unwrap_or_default())
            .map_or(saved.dirty.share(), |l| saved.dirty.minus(&l.owned).share())
            * 100.0
    );
    Ok(())
}
