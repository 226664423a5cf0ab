//! `rampart status --peer <multiaddr>`.

use std::time::Duration;

use anyhow::bail;
use overlay::wire::{Request, Response, StatusReport};

use rampart::net::client;

/// How to print the report.
pub enum Format {
    /// For people.
    Table,
    /// For scripts and tests.
    Json,
    /// Prometheus text exposition.
    Metrics,
}

pub fn run(peer: &str, format: Format, timeout: Duration) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let response = rt.block_on(client::request(peer, Request::Status, timeout))?;
    let report = match response {
        Response::Status(r) => *r,
        Response::Refused(why) => bail!("{peer} refused the status request: {why}"),
        other => bail!("{peer} answered a status request with something else: {other:?}"),
    };
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&rampart::metrics::to_json(&report))?
        ),
        Format::Metrics => print!("{}", rampart::metrics::render(&report)),
        Format::Table => print_table(&report),
    }
    Ok(())
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
}

fn print_transfer(t: &overlay::wire::TransferStatus) {
    let owns = format!(
        "owns {:.1}% of the ring",
        f64::from(t.owned_permille) / 10.0
    );
    if t.waiting {
        println!("transfer  waiting for a past configuration to plan; {owns}");
    } else if t.pending_ranges > 0 {
        let eta = t
            .eta_secs
            .map_or("unknown".to_string(), |s| format!("{s}s"));
        println!(
            "transfer  {} ranges pending ({} fetching), {:.1}% walked, {} objects / {} so far, {}/s, ETA {eta}; {} requests waiting; {owns}",
            t.pending_ranges,
            t.running,
            f64::from(t.done_permille) / 10.0,
            t.objects,
            mib(t.bytes),
            mib(t.rate_bytes_s),
            t.parked
        );
    } else {
        println!("transfer  idle; {owns}");
    }
    if t.retained_permille > 0 {
        println!(
            "          still holds {:.1}% of the ring it no longer owns (deleted once every new owner has it)",
            f64::from(t.retained_permille) / 10.0
        );
    }
    println!(
        "          since start: {} ranges fetched ({} objects, {}), {} ranges deleted ({} objects), {} transfer requests answered",
        t.ranges_finished,
        t.objects_fetched,
        mib(t.bytes_fetched),
        t.ranges_deleted,
        t.objects_deleted,
        t.answered
    );
    if t.refused_answers + t.unheld_entries > 0 {
        println!(
            "          refused since start: {} answers from old replicas (nothing, less than listed, or no proof of who stored it), {} listed objects 2f+1 did not hold",
            t.refused_answers, t.unheld_entries
        );
    }
}

/// `items` joined with commas, or "none".
fn listing(items: Vec<String>) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

fn print_refused(r: &overlay::status::Refused) {
    let refused: Vec<String> = rampart::metrics::refused_by_bound(r)
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(bound, n)| format!("{bound} {n}"))
        .collect();
    let refused = listing(refused);
    println!(
        "bounds    refused: {refused}; order replies held {}",
        r.order_held
    );
}

pub(super) fn print_table(r: &StatusReport) {
    let connected = r
        .members
        .iter()
        .filter(|m| m.connected && m.node != r.node)
        .count();
    println!("node      {}", r.node);
    println!("version   {}   up {}s", r.version, r.uptime_secs);
    println!("listen    {}", r.listen.join(" "));
    if let Some(h) = &r.http {
        println!("http      http://{h}/ (dashboard)  http://{h}/status  http://{h}/metrics");
    }
    println!("epoch     {}   config {}", r.epoch, r.config_hash);
    println!(
        "members   {} (f={}, f_ms={}), connected to {} of {} others",
        r.members.len(),
        r.f,
        r.f_ms,
        connected,
        r.members.len().saturating_sub(1)
    );
    if let Some(p) = &r.pbft {
        let state = if p.active { "active" } else { "changing view" };
        println!(
            "pbft      replica {} view {} ({state}, primary {}), executed n{} ({} ops, state {}), stable n{}, dropped {}",
            p.replica,
            p.view,
            p.primary.0.short(),
            p.last_exec,
            p.executed_ops,
            p.state.short(),
            p.stable,
            p.dropped
        );
        if let Some(q) = &p.ms {
            println!(
                "ms queue  epoch {}: {} to add, {} to remove, {} revocations, {} reported, {} evictions",
                q.epoch, q.adds, q.removes, q.revokes, q.reported, q.evictions
            );
        }
    }
    if let Some(s) = &r.store {
        let refused = listing(s.refused.iter().map(|(k, v)| format!("{k} {v}")).collect());
        println!(
            "store     ~{} keyed and ~{} content objects; {} requests served; refused: {refused}",
            s.keyed, s.content, s.served
        );
        if s.write_batches > 0 {
            println!(
                "          {} writes in {} batches ({:.1} a batch: one fsync each when durable)",
                s.batched_writes,
                s.write_batches,
                s.batched_writes as f64 / s.write_batches as f64
            );
        }
        print_transfer(&s.transfer);
    }
    print_refused(&r.refused);
    for m in &r.members {
        let me = if m.node == r.node {
            "self"
        } else if m.connected {
            "connected"
        } else {
            "NOT connected"
        };
        let ms = if m.ms { "MS" } else { "" };
        let probe = match (m.probe_age_secs, m.probe_misses) {
            _ if m.node == r.node => String::new(),
            (Some(a), Some(n)) if n > 0 => format!("probe {a}s ago, MISSED {n}"),
            (Some(a), _) => format!("probe {a}s ago"),
            (None, Some(n)) if n > 0 => format!("no probe answer, MISSED {n}"),
            (None, _) => "no probe answer seen".to_string(),
        };
        println!(
            "  {}  {:<2} {:<13} {:<24} {}",
            &m.node.to_string()[..16],
            ms,
            me,
            probe,
            m.addrs.join(" ")
        );
    }
}
