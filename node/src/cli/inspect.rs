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
