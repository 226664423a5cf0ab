//! `bench_dbqs`: dBQS put and get throughput and latency on `rampart node` processes (four by
//! default; replica groups stay 3f+1 = 4 with f = 1 whatever the node count) over libp2p on
//! loopback, for 1 KiB and 64 KiB values at 1, 8 and 32 concurrent clients (each its own
//! connection and credential key, one operation in flight), beside this machine's ed25519 and
//! fsync rates measured in the same run.
//!
//! `cargo build --profile bench -p rampart -p rampart-tests --bins && ./target/release/bench_dbqs` (`--no-sync` turns WAL
//! fsync off; `--quick` runs fewer operations; `--nodes 7` runs seven nodes; `--clients
//! 1,2,4,8,16,32` and `--sizes 1,64` (KiB) choose the grid; `--json <file>` also writes the
//! figures as JSON; `--journal-cost` adds puts by clients with and without their write journal,
//! alternating in the same cluster, for issue 15's cost of the journal).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Parser;
use futures::future::join_all;
use rampart::client::{Client, ClientOptions};
use rampart_tests::benchutil::{crypto_rates, fsync_rate, json_header, quantile_ms, write_json};
use rampart_tests::cluster::Cluster;
use serde_json::json;

/// Signature work per operation for n = 4, f = 1: a put signs its version once, the client
/// verifies the up to 3 versions the query returns, and 4 replicas verify the new version; a
/// get verifies the 3 versions its quorum returns. Credentials are verified once per
/// connection (replicas cache them).
const PUT: (f64, f64) = (1.0, 7.0);
const GET: (f64, f64) = (0.0, 3.0);
/// Replicas that store (and fsync) each put, sharing one disk. Each replica's group-commit
/// writer puts the writes that queued together in one batch with one fsync; the batch size is
/// read off the nodes' counters for each row.
const FSYNCS_PER_PUT: f64 = 4.0;

/// dBQS put and get on node processes, with their bounds.
#[derive(Parser)]
struct Args {
    /// 200 operations a row instead of 1,600.
    #[arg(long)]
    quick: bool,
    /// Turn the rocksdb WAL fsync off (not durable).
    #[arg(long)]
    no_sync: bool,
    /// Node processes (replica groups stay 4 with f = 1; the MS group is 4 of them).
    #[arg(long, default_value_t = 4)]
    nodes: usize,
    /// Concurrent client counts, comma-separated; each is one row per size and operation.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    clients: Vec<usize>,
    /// Value sizes in KiB, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,64")]
    sizes: Vec<usize>,
    /// Operations a row, split over its clients (each makes at least 10).
    #[arg(long)]
    ops: Option<usize>,
    /// Also measure 1 KiB puts with the client's write journal on and off, in turns.
    #[arg(long)]
    journal_cost: bool,
    /// Also write the figures, the bounds and the command line to this file as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn options(file: &Path) -> ClientOptions {
    let mut o = ClientOptions::from_client_file(file).expect("client file");
    o.timeout = Duration::from_secs(120);
    o
}

/// Rounds of each kind in the journal comparison; they alternate, so drift hits both alike.
const JOURNAL_ROUNDS: usize = 3;

/// 1 KiB puts by `n` clients with their write journal file and by `n` without, in turns:
/// ops/s and p50 of each, and their ratio.
fn journal_cost(
    c: &Cluster,
    rt: &tokio::runtime::Runtime,
    n: usize,
    total: usize,
) -> serde_json::Value {
    let connect = |journal: bool| -> Vec<Client> {
        (0..n)
            .map(|i| {
                let file = c.client(&format!("j{journal}-{n}-{i}"), "put,get", "1d");
                let mut o = options(&file);
                if !journal {
                    o.journal = None;
                }
                rt.block_on(Client::connect(o)).expect("connect")
            })
            .collect()
    };
    let (with, without) = (connect(true), connect(false));
    let per_client = (total / n / JOURNAL_ROUNDS).max(10);
    let (mut on, mut off) = (Vec::new(), Vec::new());
    let (mut secs_on, mut secs_off) = (0.0, 0.0);
    for _ in 0..JOURNAL_ROUNDS {
        let r = rt.block_on(drive(&with, per_client, 1024, true));
        secs_on += r.secs;
        on.extend(r.lat);
        let r = rt.block_on(drive(&without, per_client, 1024, true));
        secs_off += r.secs;
        off.extend(r.lat);
    }
    on.sort_unstable();
    off.sort_unstable();
    let (rate_on, rate_off) = (on.len() as f64 / secs_on, off.len() as f64 / secs_off);
    let (p50_on, p50_off) = (quantile_ms(&on, 0.5), quantile_ms(&off, 0.5));
    println!(
        "| {n} | {rate_on:.0} | {p50_on:.2} | {rate_off:.0} | {p50_off:.2} | {:.2} |",
        rate_on / rate_off
    );
    json!({
        "clients": n, "ops_each": on.len(),
        "journal_ops_per_s": rate_on, "journal_p50_ms": p50_on,
        "no_journal_ops_per_s": rate_off, "no_journal_p50_ms": p50_off,
        "ratio": rate_on / rate_off,
    })
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
    let args = Args::parse();
    let t_start = Instant::now();
    assert!(args.nodes >= 4, "--nodes: at least 4 (groups of 3f+1 = 4)");
    let sync = !args.no_sync;
    let total = args.ops.unwrap_or(if args.quick { 200 } else { 1600 });
    let (sign, verify) = crypto_rates();
    let fsyncs = fsync_rate();
    println!(
        "ed25519 on this machine (one core): {sign:.0} signs/s, {verify:.0} verifies/s; disk: {fsyncs:.0} fsyncs/s; WAL fsync {}; {} nodes",
        if sync { "on" } else { "off" },
        args.nodes
    );
    let bound = |(s, v): (f64, f64)| 2.0 / (s / sign + v / verify);
    println!();
    println!(
        "| op | value | clients | ops | ops/s | MB/s | p50 ms | p99 ms | crypto bound | ÷ crypto | writes/fsync | fsync bound | ÷ fsync |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut c = Cluster::genesis(args.nodes);
    c.node_config = format!("[storage]\nsync = {sync}\n");
    c.start_all();
    c.wait_meshed(Duration::from_secs(60 + 10 * args.nodes as u64));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut rows = Vec::new();
    for size in args.sizes.iter().map(|k| k * 1024) {
        for &n in &args.clients {
            let per_client = (total / n).max(10);
            let clients: Vec<Client> = (0..n)
                .map(|i| {
                    let file = c.client(&format!("b{size}-{n}-{i}"), "put,get", "1d");
                    rt.block_on(Client::connect(options(&file)))
                        .expect("connect")
                })
                .collect();
            for put in [true, false] {
                let before = batching(&c);
                let r = rt.block_on(drive(&clients, per_client, size, put));
                let ops_s = r.ops as f64 / r.secs;
                let crypto = bound(if put { PUT } else { GET });
                let (batches, writes) = delta(before, batching(&c));
                let per_batch = (put && batches > 0).then(|| writes as f64 / batches as f64);
                let fsync_bound = per_batch
                    .filter(|_| sync)
                    .map(|g| fsyncs * g / FSYNCS_PER_PUT);
                let fsync = fsync_bound.map_or("-".into(), |b| format!("{b:.0}"));
                let per = per_batch.map_or("-".into(), |g| format!("{g:.1}"));
                let fsync_ratio = fsync_bound.map_or("-".into(), |b| format!("{:.2}", ops_s / b));
                let op = if put { "put" } else { "get" };
                let (p50, p99) = (quantile_ms(&r.lat, 0.5), quantile_ms(&r.lat, 0.99));
                let mbs = ops_s * size as f64 / 1e6;
                println!(
                    "| {op} | {} KiB | {n} | {} | {ops_s:.0} | {mbs:.2} | {p50:.2} | {p99:.2} | {crypto:.0} | {:.2} | {per} | {fsync} | {fsync_ratio} |",
                    size / 1024,
                    r.ops,
                    ops_s / crypto,
                );
                rows.push(json!({
                    "op": op,
                    "value_bytes": size,
                    "clients": n,
                    "ops": r.ops,
                    "ops_per_s": ops_s,
                    "mb_per_s": mbs,
                    "p50_ms": p50,
                    "p99_ms": p99,
                    "crypto_bound": crypto,
                    "crypto_ratio": ops_s / crypto,
                    "fsync_bound": fsync_bound,
                    "fsync_ratio": fsync_bound.map(|b| ops_s / b),
                    "writes_per_batch": per_batch,
                }));
            }
        }
    }
    let mut journal = Vec::new();
    if args.journal_cost {
        println!();
        println!("1 KiB puts, the client's write journal on and off in turns:");
        println!();
        println!("| clients | journal ops/s | p50 ms | no journal ops/s | p50 ms | on ÷ off |");
        println!("|---:|---:|---:|---:|---:|---:|");
        for &n in &args.clients {
            journal.push(journal_cost(&c, &rt, n, total));
        }
    }
    if let Some(path) = &args.json {
        let mut out = json_header("dbqs", Some(sync));
        out["journal_cost"] = json!(journal);
        out["quick"] = json!(args.quick);
        out["wall_secs"] = json!(t_start.elapsed().as_secs_f64());
        out["machine"] = json!({
            "signs_per_s": sign, "verifies_per_s": verify, "fsyncs_per_s": fsyncs,
        });
        out["params"] = json!({
            "nodes": args.nodes, "f": 1, "group": 4, "ops_per_row": total,
            "clients": args.clients, "sizes_kib": args.sizes,
            "put_signs_verifies": [PUT.0, PUT.1], "get_signs_verifies": [GET.0, GET.1],
            "fsyncs_per_put": FSYNCS_PER_PUT,
        });
        out["rows"] = json!(rows);
        write_json(path, &out);
    }
}

/// Batches written and writes they held, summed over the nodes that answer.
fn batching(c: &Cluster) -> (u64, u64) {
    (0..c.nodes.len())
        .filter_map(|i| c.status(i).ok())
        .map(|st| {
            let n = |k: &str| st["store"][k].as_u64().unwrap_or(0);
            (n("write_batches"), n("batched_writes"))
        })
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}

fn delta(before: (u64, u64), after: (u64, u64)) -> (u64, u64) {
    (
        after.0.saturating_sub(before.0),
        after.1.saturating_sub(before.1),
    )
}
