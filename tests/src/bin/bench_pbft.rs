//! `bench_pbft`: PBFT ordering throughput and latency of the null application on four
//! `rampart node` processes over real libp2p on loopback, at several batch sizes and client
//! counts, beside this machine's own ed25519 sign and verify rates measured in the same run.
//!
//! `cargo build --release -p rampart --bins && cargo run --release -p rampart-tests --bin bench_pbft`
//! (`RAMPART_BIN` may point at the rampart binary; `--quick` runs a smaller grid; `--no-sync`
//! turns WAL fsync off.)

use std::time::Duration;

use rampart::ordering::{self, LoadSpec};
use rampart_tests::benchutil::{crypto_rates, fsync_rate};
use rampart_tests::cluster::Cluster;

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

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let sync = !std::env::args().any(|a| a == "--no-sync");
    let batches: &[usize] = if quick { &[1, 64] } else { &[1, 16, 64] };
    let client_counts: &[usize] = if quick { &[1, 8] } else { &[1, 8, 64] };
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
    for &batch in batches {
        let mut c = Cluster::genesis(4);
        c.node_config = format!(
            "[pbft]\nbatch_max = {batch}\napplication = \"null\"\n[storage]\nsync = {sync}\n"
        );
        c.start_all();
        c.wait_meshed(Duration::from_secs(60));
        for &clients in client_counts {
            let per_client = (3000 / clients).clamp(20, 500);
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
            let disk_cols = if sync {
                format!("{disk:.0} | {:.2}", report.ops_per_sec() / disk)
            } else {
                "- | -".to_string()
            };
            println!(
                "| {batch} | {clients} | {} | {:.0} | {:.2} | {:.2} | {:.0} | {:.2} | {disk_cols} |",
                report.ok,
                report.ops_per_sec(),
                report.latency_ms(50.0),
                report.latency_ms(99.0),
                bound,
                report.ops_per_sec() / bound
            );
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
}
