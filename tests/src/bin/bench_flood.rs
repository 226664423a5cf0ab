//! The flood trial at several sizes (issue 18): for each, a fresh 7-node cluster, the flood,
//! and what held while it ran. Prints a Markdown table for docs/BENCHMARKS.md.
//!
//! `bench_flood [--scales 1,2,4]` (scale 1 is the CI test's 405 identities).

use rampart_tests::flood::trial;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let scales: Vec<usize> = args
        .iter()
        .position(|a| a == "--scales")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 2, 4]);
    println!(
        "| identities | requests/s offered | revoked after | joined after | epochs | put+get worst calm | flooded | max RSS MiB | refused: not admitted | bad signature | freshness rate | sessions | connections |"
    );
    println!("|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for scale in scales {
        let o = trial::run(scale);
        eprintln!("scale {scale}: {}", o.flood);
        println!(
            "| {} | {:.0} | {:.1} s | {:.1} s | {} → {} | {:.1} ms | {:.1} ms | {} | {} | {} | {} | {} | {} |",
            o.identities,
            o.offered_per_sec,
            o.revoked_after.as_secs_f64(),
            o.joined_after.as_secs_f64(),
            o.epochs.0,
            o.epochs.1,
            o.worst.0.as_secs_f64() * 1e3,
            o.worst.1.as_secs_f64() * 1e3,
            o.rss_kib.iter().max().copied().unwrap_or(0) / 1024,
            o.refused("order_not_admitted"),
            o.refused("order_bad_signature"),
            o.refused("freshness_rate"),
            o.refused("sessions"),
            o.refused("connections"),
        );
    }
}
