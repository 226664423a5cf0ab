//! `rampart load`: drive the MS ordering service and report throughput and latency.

use std::time::{Duration, Instant};

use anyhow::bail;
use rampart::ordering::{self, LoadSpec};

pub fn run(
    peer: &str,
    clients: usize,
    requests: usize,
    size: usize,
    timeout: Duration,
) -> anyhow::Result<()> {
    if clients == 0 || requests < clients {
        bail!("--requests must be at least --clients, and --clients at least 1");
    }
    let spec = LoadSpec {
        clients,
        requests_per_client: requests / clients,
        op_bytes: size,
        timeout,
        retry: Duration::from_secs(2),
    };
    let total = (spec.requests_per_client * clients) as u64;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut last = Instant::now();
    let report = rt.block_on(ordering::load(peer, spec, |done| {
        if last.elapsed() >= Duration::from_secs(1) || done == total {
            eprintln!(
                "  {done}/{total} requests ordered ({:.0}%)",
                100.0 * done as f64 / total as f64
            );
            last = Instant::now();
        }
    }))?;
    println!(
        "{} requests by {clients} clients in {:.2}s: {:.0} ops/s, latency p50 {:.2} ms, p99 {:.2} ms",
        report.ok,
        report.elapsed.as_secs_f64(),
        report.ops_per_sec(),
        report.latency_ms(50.0),
        report.latency_ms(99.0)
    );
    Ok(())
}
