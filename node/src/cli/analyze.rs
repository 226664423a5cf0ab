//! `rampart analyze`: what the dashboard shows, in the terminal. From this host, or from a
//! member, no credential is needed; from elsewhere the request carries a credential granting
//! `analyze`. `--token` instead signs a short-lived token for the HTTP analyser of a node on
//! another host.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use overlay::analyst::{AnalystToken, TOKEN_SECS_MAX};
use overlay::cert::{Capability, CertBody};
use overlay::status::{LATENCY_BOUNDS_US, OpLatency, StatusReport};
use overlay::wire::{Request, Response};

use rampart::net::client;
use rampart::timeutil::{self, now, parse_expiry};

/// Prints a token for the HTTP analyser of `peer`, signed with the credential's key. The
/// node is asked for its status with the credential first: that tells which node the token
/// is for, and says now, not at the first browser request, if the credential is refused.
pub fn token(credential: &Path, valid: &str, peer: &str, timeout: Duration) -> anyhow::Result<()> {
    let cred = bootstrap::credential::read(credential)
        .with_context(|| format!("{}: not a client credential", credential.display()))?;
    let CertBody::Client { caps, .. } = &cred.cert.content.body else {
        bail!("{}: not a client credential", credential.display());
    };
    if !caps.allows(Capability::Analyze) {
        bail!(
            "{}: the credential does not grant `analyze`; the admin registers analysts with `--caps analyze`",
            credential.display()
        );
    }
    let now = now();
    let wanted = parse_expiry(valid, now).map_err(|e| anyhow::anyhow!("--valid: {e}"))?;
    if wanted.0 > now.0 + TOKEN_SECS_MAX {
        bail!("--valid: a token may be valid for at most {TOKEN_SECS_MAX} s (1 hour)");
    }
    let not_after = wanted.min(cred.cert.content.not_after);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let req = Request::Analyze(Box::new(cred.cert.clone()));
    let node = match rt.block_on(client::request_as(peer, &cred.key, req, timeout))? {
        Response::Status(r) => r.node,
        Response::Refused(why) => bail!("{peer} refused the credential: {why}"),
        other => bail!("{peer} answered with something else: {other:?}"),
    };
    let mut nonce = [0; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
    let t = AnalystToken::sign(&cred.key, cred.cert, node, not_after, nonce).to_hex();
    println!("{t}");
    eprintln!(
        "for node {} only, valid until {}; send it as `Authorization: Bearer <token>`, open http://<node>/#token=<token> for the dashboard, and POST /logout with it to revoke it",
        node.0.short(),
        timeutil::show(not_after)
    );
    Ok(())
}

/// Asks `peer` for its status (with the credential, if given) and prints it; with `watch`,
/// again and again.
pub fn run(
    peer: &str,
    credential: Option<&Path>,
    json: bool,
    watch: Option<Duration>,
    timeout: Duration,
) -> anyhow::Result<()> {
    let cred = credential
        .map(|p| {
            bootstrap::credential::read(p)
                .with_context(|| format!("{}: not a client credential", p.display()))
        })
        .transpose()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    loop {
        let response = rt.block_on(async {
            match &cred {
                Some(c) => {
                    let req = Request::Analyze(Box::new(c.cert.clone()));
                    client::request_as(peer, &c.key, req, timeout).await
                }
                None => client::request(peer, Request::Status, timeout).await,
            }
        })?;
        let report = match response {
            Response::Status(r) => *r,
            Response::Refused(why) => bail!("{peer} refused: {why}"),
            other => bail!("{peer} answered with something else: {other:?}"),
        };
        if json {
            println!(
                "{}",
                serde_json::to_string_pretty(&rampart::metrics::to_json(&report))?
            );
        } else {
            if watch.is_some() {
                // Clear the screen and go home, so the view refreshes in place.
                print!("\x1b[2J\x1b[H");
            }
            print_analysis(&report);
        }
        match watch {
            Some(every) => std::thread::sleep(every),
            None => return Ok(()),
        }
    }
}

fn bar(permille: u32) -> String {
    let filled = (permille.min(1000) / 50) as usize;
    format!("[{}{}]", "#".repeat(filled), ".".repeat(20 - filled))
}

/// The smallest bucket bound under which `q` of the requests fall, in ms.
fn quantile_ms(l: &OpLatency, q: f64) -> Option<f64> {
    let want = (l.count as f64 * q).ceil() as u64;
    l.cumulative()
        .into_iter()
        .find(|(_, n)| *n >= want && *n > 0)
        .map(|(b, _)| b * 1e3)
}

fn print_analysis(r: &StatusReport) {
    super::status::print_table(r);
    if let Some(s) = &r.store {
        let t = &s.transfer;
        println!();
        println!(
            "ring      {} owns {:.1}% of the ring; still holds {:.1}% it no longer owns",
            bar(t.owned_permille),
            f64::from(t.owned_permille) / 10.0,
            f64::from(t.retained_permille) / 10.0
        );
        if t.pending_ranges > 0 {
            println!(
                "transfer  {} {:.1}% of {} pending ranges walked",
                bar(t.done_permille),
                f64::from(t.done_permille) / 10.0,
                t.pending_ranges
            );
        }
        for l in s.latency.iter().filter(|l| l.count > 0) {
            let mean = l.sum_us as f64 / l.count as f64 / 1e3;
            let p = |q| {
                quantile_ms(l, q).map_or(
                    format!(
                        "> {} ms",
                        LATENCY_BOUNDS_US.last().copied().unwrap_or(0) / 1000
                    ),
                    |ms| format!("<= {ms} ms"),
                )
            };
            println!(
                "latency   {:<12} {:>8} requests, mean {mean:.2} ms, p50 {}, p99 {}",
                l.op,
                l.count,
                p(0.5),
                p(0.99)
            );
        }
    }
    println!();
    println!("epochs (newest first)");
    for h in r.history.iter().take(10) {
        let names = |ids: &[overlay::id::NodeId]| -> String {
            ids.iter()
                .map(|n| n.0.short())
                .collect::<Vec<_>>()
                .join(" ")
        };
        println!(
            "  {:>5}  {:>3} members  MS {}  {}{}{}  {}s ago",
            h.epoch.0,
            h.members,
            h.ms_group.len(),
            if h.joined.is_empty() {
                String::new()
            } else {
                format!("+{} ", names(&h.joined))
            },
            if h.left.is_empty() {
                String::new()
            } else {
                format!("-{} ", names(&h.left))
            },
            if h.revoked.is_empty() {
                String::new()
            } else {
                format!("revoked {} ", h.revoked.len())
            },
            h.secs_ago
        );
    }
    if !r.revoked.is_empty() {
        println!("revoked clients: {}", r.revoked.len());
        for (c, until) in r.revoked.iter().take(10) {
            println!(
                "  {}  until {}",
                c.0.short(),
                timeutil::show(overlay::time::Timestamp(*until))
            );
        }
    }
    println!();
    println!("recent events (newest first)");
    if r.events.is_empty() {
        println!("  (none)");
    }
    for e in r.events.iter().take(15) {
        println!(
            "  {:>6}s ago  epoch {:>4}  {:<12} {}",
            e.secs_ago,
            e.epoch.0,
            e.kind.name(),
            e.detail
        );
    }
}
