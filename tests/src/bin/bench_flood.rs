//! The flood trial at several sizes (issue 18): for each, a fresh 7-node cluster, the flood,
//! and what held while it ran; a Markdown table on stdout.
//!
//! `bench_flood [--scales 1,2,4,8] [--quick] [--json <file>]` (scale 1 is the CI test's 440
//! identities; `--quick` runs scale 1 only). Nodes are durable (WAL fsync on).

use rampart_tests::benchutil::{json_header, write_json};
use rampart_tests::flood::trial::{self, Outcome};
use serde_json::json;

fn arg<'a>(args: &'a [String], name: &str) -> Option<&'a String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
}

fn row(o: &Outcome) -> serde_json::Value {
    json!({
        "identities": o.identities,
        "offered_per_sec": o.offered_per_sec,
        "revoked_after_s": o.revoked_after.as_secs_f64(),
        "joined_after_s": o.joined_after.as_secs_f64(),
        "epochs": [o.epochs.0, o.epochs.1],
        "worst_calm_ms": o.worst.0.as_secs_f64() * 1e3,
        "worst_flooded_ms": o.worst.1.as_secs_f64() * 1e3,
        "max_rss_mib": o.rss_kib.iter().max().copied().unwrap_or(0) / 1024,
        "refused": o
            .refused
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect::<serde_json::Map<_, _>>(),
        "flood": o.flood,
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let scales: Vec<usize> = match arg(&args, "--scales") {
        Some(s) => s.split(',').filter_map(|x| x.parse().ok()).collect(),
        None if quick => vec![1],
        None => vec![1, 2, 4, 8],
    };
    let mut rows = Vec::new();
    for scale in scales {
        // A trial whose revocation or join did not go through is a result, not a crash: it
        // is recorded with the reason, and the larger sizes still run.
        match std::panic::catch_unwind(|| trial::run(scale)) {
            Ok(o) => {
                eprintln!("scale {scale}: {}", o.flood);
                rows.push(row(&o));
            }
            Err(e) => {
                let why = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "the trial panicked".into());
                eprintln!("scale {scale}: FAILED: {why}");
                rows.push(json!({ "scale": scale, "failed": why }));
            }
        }
    }
    println!("{}", trial::table(&rows));
    if let Some(path) = arg(&args, "--json") {
        let mut out = json_header("flood", Some(true));
        out["rows"] = json!(rows);
        write_json(std::path::Path::new(path), &out);
    }
}
