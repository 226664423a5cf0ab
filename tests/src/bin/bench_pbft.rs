//! `bench_pbft`: PBFT ordering throughput and latency of the null application on four
//! `rampart node` processes over real libp2p on loopback, at several batch sizes and client
//! counts, beside this machine's own ed25519 sign and verify rates measured in the same run.
//!
//! `cargo build --profile bench -p rampart -p rampart-tests --bins && ./target/release/bench_pbft`
//! (`RAMPART_BIN` may point at the rampart binary; `--quick` runs a smaller grid with fewer
//! requests; `--no-sync` turns WAL fsync off; `--json <file>` also writes the figures as JSON.)

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use rampart::ordering::{self, LoadSpec};
use rampart_tests::benchutil::{crypto_rates, fsync_rate, json_header, write_json};
use rampart_tests::cluster::Cluster;
use serde_json::json;

/// Signature operations per request and per batch that the protocol implies for n = 4 when
/// clients send each request to every replica: (signs, verifies) per request, per batch.
/// Per request: client signs 1, replicas verify it 4 times on receipt and 3 times inside the
/// pre-prepare; 4 replicas sign replies, the client verifies 4. Per batch: pre-prepare 1 sign,
/// 3 verifies; prepares 3 signs, 9 verifies; commits 4 signs, 12 verifies.
const PER_REQUEST: (f64, f64) = (5.0, 11.0);
const PER_BATCH: (f64, f64) = (8.0, 24.0);

/// Sequential fsyncs per batch at each replica: the accepted pre-prepare with the prepare
/// sent, then the prepared certificate with the commit sent.
const FSYNCS_PER_BATCH: f64 = 2.0;

/// PBFT ordering of the null application on four node processes, with its bounds.
#[derive(Parser)]
struct Args {
    /// A smaller grid: batch_max 1 and 64, 1 and 8 clients, at most 400 requests a row.
    #[arg(long)]
    quick: bool,
    /// Turn the rocksdb WAL fsync off (not durable).
    #[arg(long)]
    no_sync: bool,
    /// Also write the figures, the bounds and the command line to this file as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn main() {
    let args = Args::parse();
    let t_start = Instant::now();
    let quick = args.quick;
    let sync = !args.no_sync;
    let batches: &[usize] = if quick { &[1, 64] } else { &[1, 16, 64] };
    let client_counts: &[usize] = if quick { &[1, 8] } else { &[1, 8, 64] };
    // Requests a row, split over its clients (each makes at least 20 and at most 500).
    let total = if quick { 400 } else { 3000 };
    let (sign, verify) = crypto_rates();
    let fsyncs = fsync_rate();
    println!(
        "ed25519 on this machine (one core): {sign:.0} signs/s, {verify:.0} verifies/s; disk: {fsyncs:.0} fsyncs/s"
    );
    println!();
    println!(
        "| batch_max | clients | requests | ops/s | p50 ms | p99 ms | crypto bound | ops/s ÷ crypto | fsync bound | ops/s ÷ fsync |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut rows = Vec::new();
    for &batch in batches {
        let mut c = Cluster::genesis(4);
        c.node_config = format!(
            "[pbft]\nbatch_max = {batch}\napplication = \"null\"\n[storage]\nsync = {sync}\n"
        );
        c.start_all();
        c.wait_meshed(Duration::from_secs(60));
        for &clients in client_counts {
            let per_client = (total / clients).clamp(20, 500);
            let spec = LoadSpec {
                clients,
                requests_per_client: per_client,
                op_bytes: 16,
                timeout: Duration::from_secs(600),
                retry: Duration::from_secs(2),
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            let report = match rt.block_on(ordering::load(&c.nodes[1].addr, spec, |_| {})) {
                Ok(r) => r,
                Err(e) => {
                    println!("| {batch} | {clients} | - | failed: {e} | | | | |");
                    rows.push(json!({
                        "batch_max": batch, "clients": clients, "error": e.to_string(),
                    }));
                    continue;
                }
            };
            // The effective batch is at most the number of clients (one request in flight each).
            let b = batch.min(clients).max(1) as f64;
            let signs = PER_REQUEST.0 + PER_BATCH.0 / b;
            let verifies = PER_REQUEST.1 + PER_BATCH.1 / b;
            // Two cores shared by four replicas and the client process.
            let bound = 2.0 / (signs / sign + verifies / verify);
            // Four replicas share one disk; each batch costs each of them FSYNCS_PER_BATCH.
            let disk = fsyncs * b / (4.0 * FSYNCS_PER_BATCH);
            let ops = report.ops_per_sec();
            let disk_cols = if sync {
                format!("{disk:.0} | {:.2}", ops / disk)
            } else {
                "- | -".to_string()
            };
            println!(
                "| {batch} | {clients} | {} | {ops:.0} | {:.2} | {:.2} | {bound:.0} | {:.2} | {disk_cols} |",
                report.ok,
                report.latency_ms(50.0),
                report.latency_ms(99.0),
                ops / bound
            );
            rows.push(json!({
                "batch_max": batch,
                "clients": clients,
                "requests": report.ok,
                "ops_per_s": ops,
                "p50_ms": report.latency_ms(50.0),
                "p99_ms": report.latency_ms(99.0),
                "crypto_bound": bound,
                "crypto_ratio": ops / bound,
                "fsync_bound": sync.then_some(disk),
                "fsync_ratio": sync.then_some(ops / disk),
            }));
        }
    }
    println!();
    if sync {
        println!(
            "durable: every replica fsyncs its rocksdb WAL before sending what a record protects."
        );
    } else {
        println!("NOT durable (--no-sync): rocksdb WAL writes are not fsynced.");
    }
    if let Some(path) = &args.json {
        let mut out = json_header("pbft", Some(sync));
        out["quick"] = json!(quick);
        out["wall_secs"] = json!(t_start.elapsed().as_secs_f64());
        out["machine"] = json!({
            "signs_per_s": sign, "verifies_per_s": verify, "fsyncs_per_s": fsyncs,
        });
        out["params"] = json!({
            "replicas": 4, "f": 1, "op_bytes": 16, "application": "null",
            "requests_per_row": total, "per_client_min": 20, "per_client_max": 500,
            "per_request_signs_verifies": [PER_REQUEST.0, PER_REQUEST.1],
            "per_batch_signs_verifies": [PER_BATCH.0, PER_BATCH.1],
            "fsyncs_per_batch": FSYNCS_PER_BATCH,
        });
        out["rows"] = json!(rows);
        write_json(path, &out);
    }
}
