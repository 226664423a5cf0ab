//! `bench_dbqs`: dBQS put and get throughput and latency on four `rampart node` processes
//! (f = 1) over libp2p on loopback, for 1 KiB and 64 KiB values at 1, 8 and 32 concurrent
//! clients (each its own connection and credential key, one operation in flight), beside this
//! machine's ed25519 and fsync rates measured in the same run.
//!
//! `cargo build --workspace --all-targets && ./target/debug/bench_dbqs` (`--no-sync` turns WAL
//! fsync off; `--quick` runs fewer operations).

use std::path::Path;
use std::time::{Duration, Instant};

use futures::future::join_all;
use rampart::client::{Client, ClientOptions};
use rampart_tests::benchutil::{crypto_rates, fsync_rate};
use rampart_tests::cluster::Cluster;

/// Signature work per operation for n = 4, f = 1: a put signs its version once, the client
/// verifies the up to 3 versions the query returns, and 4 replicas verify the new version; a
/// get verifies the 3 versions its quorum returns. Credentials are verified once per
/// connection (replicas cache them).
const PUT: (f64, f64) = (1.0, 7.0);
const GET: (f64, f64) = (0.0, 3.0);
/// Sequential WAL fsyncs per put at each of 4 replicas, sharing one disk.
const FSYNCS_PER_PUT: f64 = 4.0;

fn options(file: &Path) -> ClientOptions {
    let mut o = ClientOptions::from_client_file(file).expect("client file");
    o.timeout = Duration::from_secs(120);
    o
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

struct Run {
    ops: usize,
    secs: f64,
    lat: Vec<Duration>,
}

async fn drive(clients: &[Client], per_client: usize, size: usize, put: bool) -> Run {
    let value = vec![0x5au8; size];
    let t0 = Instant::now();
    let runs = clients.iter().enumerate().map(|(c, client)| {
        let value = value.clone();
        async move {
            let mut lat = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let name = format!("bench-{size}-{c}-{i}");
                let t = Instant::now();
                if put {
                    client.put(name.as_bytes(), &value).await.expect("put");
                } else {
                    let got = client.get(name.as_bytes()).await.expect("get");
                    assert_eq!(got.map(|v| v.len()), Some(size));
                }
                lat.push(t.elapsed());
            }
            lat
        }
    });
    let mut lat: Vec<Duration> = join_all(runs).await.into_iter().flatten().collect();
    let secs = t0.elapsed().as_secs_f64();
    lat.sort_unstable();
    Run {
        ops: lat.len(),
        secs,
        lat,
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let sync = !std::env::args().any(|a| a == "--no-sync");
    let (sign, verify) = crypto_rates();
    let fsyncs = fsync_rate();
    println!(
        "ed25519 on this machine (one core): {sign:.0} signs/s, {verify:.0} verifies/s; disk: {fsyncs:.0} fsyncs/s; WAL fsync {}",
        if sync { "on" } else { "off" }
    );
    let bound = |(s, v): (f64, f64)| 2.0 / (s / sign + v / verify);
    println!();
    println!(
        "| op | value | clients | ops | ops/s | MB/s | p50 ms | p99 ms | crypto bound | ÷ crypto | fsync bound | ÷ fsync |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut c = Cluster::genesis(4);
    c.node_config = format!("[storage]\nsync = {sync}\n");
    c.start_all();
    c.wait_meshed(Duration::from_secs(60));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    for size in [1024usize, 64 * 1024] {
        for n in [1usize, 8, 32] {
            let total = if quick { 200 } else { 1600 };
            let per_client = (total / n).max(10);
            let clients: Vec<Client> = (0..n)
                .map(|i| {
                    let file = c.client(&format!("b{size}-{n}-{i}"), "put,get", "1d");
                    rt.block_on(Client::connect(options(&file)))
                        .expect("connect")
                })
                .collect();
            for put in [true, false] {
                let r = rt.block_on(drive(&clients, per_client, size, put));
                let ops_s = r.ops as f64 / r.secs;
                let crypto = bound(if put { PUT } else { GET });
                let fsync = if put && sync {
                    format!("{:.0}", fsyncs / FSYNCS_PER_PUT)
                } else {
                    "-".into()
                };
                let fsync_ratio = if put && sync {
                    format!("{:.2}", ops_s / (fsyncs / FSYNCS_PER_PUT))
                } else {
                    "-".into()
                };
                println!(
                    "| {} | {} KiB | {n} | {} | {ops_s:.0} | {:.2} | {:.2} | {:.2} | {crypto:.0} | {:.2} | {fsync} | {fsync_ratio} |",
                    if put { "put" } else { "get" },
                    size / 1024,
                    r.ops,
                    ops_s * size as f64 / 1e6,
                    percentile(&r.lat, 0.5),
                    percentile(&r.lat, 0.99),
                    ops_s / crypto,
                );
            }
        }
    }
}
