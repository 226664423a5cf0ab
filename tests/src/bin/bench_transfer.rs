//! `bench_transfer`: state transfer throughput. Four `rampart node` processes (f = 1) hold
//! 1 GiB as 1 MiB objects; a fifth node joins, and the bench measures how fast the ranges it
//! gains arrive (MB/s and objects/s at the new node) and the time from the new node's first
//! epoch as a member to "every gained range transferred". Beside them, measured in the same
//! run: this machine's rocksdb write rate for the same objects (one writer, same durability)
//! and its loopback TCP copy rate.
//!
//! `cargo build --profile bench -p rampart -p rampart-tests --bins && ./target/release/bench_transfer`
//! (`--mib N` moves N MiB instead of 1024; `--quick` moves 64 MiB; `--no-sync` turns WAL
//! fsync off everywhere; `--json <file>` also writes the figures as JSON).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use actors::db::Db;
use actors::dbqs::RocksStore;
use clap::Parser;
use futures::{StreamExt, stream};
use overlay::crypto::SecretKey;
use overlay::dbqs::object::Version;
use overlay::dbqs::replica::{Request, handle};
use rampart::client::{Client, ClientOptions};
use rampart_tests::benchutil::{json_header, write_json};
use rampart_tests::cluster::Cluster;
use serde_json::json;

const MIB: usize = 1024 * 1024;

/// The `[ms] epoch_interval_ms` of the bench's cluster.
const EPOCH_INTERVAL_MS: u64 = 500;

/// State transfer to a joining node, with the machine's rocksdb and loopback rates.
#[derive(Parser)]
struct Args {
    /// MiB to load, as that many 1 MiB objects (default 1024; 64 with --quick).
    #[arg(long)]
    mib: Option<usize>,
    /// 64 MiB unless --mib says otherwise.
    #[arg(long)]
    quick: bool,
    /// Turn the rocksdb WAL fsync off everywhere (not durable).
    #[arg(long)]
    no_sync: bool,
    /// Also write the figures, the bounds and the command line to this file as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// MB/s of writing `n` versions of 1 MiB into a fresh rocksdb, one at a time.
fn rocksdb_rate(n: usize, sync: bool) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = RocksStore::new(Db::open(dir.path(), sync).expect("open rocksdb"));
    let owner = SecretKey::from_seed(&[9; 32]);
    let versions: Vec<Version> = (0..n)
        .map(|i| Version::sign(&owner, format!("r{i}").as_bytes(), 1, Some(vec![7u8; MIB])))
        .collect();
    let t0 = Instant::now();
    for v in versions {
        handle(
            &mut store,
            Request::Write {
                version: Box::new(v),
            },
        );
    }
    (n * MIB) as f64 / t0.elapsed().as_secs_f64() / 1e6
}

/// MB/s of copying `n` MiB over one loopback TCP connection.
fn loopback_rate(n: usize) -> f64 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let sender = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        let block = vec![1u8; MIB];
        for _ in 0..n {
            s.write_all(&block).expect("send");
        }
    });
    let (mut r, _) = listener.accept().expect("accept");
    let t0 = Instant::now();
    let mut buf = vec![0u8; MIB];
    let mut got = 0usize;
    while got < n * MIB {
        let k = r.read(&mut buf).expect("receive");
        if k == 0 {
            break;
        }
        got += k;
    }
    let secs = t0.elapsed().as_secs_f64();
    sender.join().expect("sender");
    got as f64 / secs / 1e6
}

fn main() {
    let args = Args::parse();
    let t_start = Instant::now();
    let sync = !args.no_sync;
    let mib: usize = args.mib.unwrap_or(if args.quick { 64 } else { 1024 });
    println!(
        "bench_transfer: {mib} MiB as {mib} objects of 1 MiB, WAL fsync {}",
        if sync { "on" } else { "off" }
    );
    let rocks = rocksdb_rate(256.min(mib), sync);
    let loopback = loopback_rate(1024);
    println!(
        "this machine: rocksdb writes {rocks:.0} MB/s (1 MiB versions, one writer), loopback TCP {loopback:.0} MB/s"
    );

    let mut c = Cluster::genesis(4);
    c.node_config = format!(
        "[ms]\nepoch_interval_ms = {EPOCH_INTERVAL_MS}\n[transfer]\nrate_mib_s = 0\n[storage]\nsync = {sync}\n"
    );
    c.start_all();
    c.wait_meshed(Duration::from_secs(90));
    let file = c.client("bench", "put,get", "1d");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut opts = ClientOptions::from_client_file(&file).expect("client file");
    opts.timeout = Duration::from_secs(120);
    let client = rt.block_on(Client::connect(opts)).expect("connect");
    let t0 = Instant::now();
    let results: Vec<_> = rt.block_on(
        stream::iter(0..mib)
            .map(|i| {
                let client = &client;
                // Distinct bytes per object: equal chunks would be stored once.
                let mut value = vec![(i % 251) as u8; MIB];
                value[..8].copy_from_slice(&(i as u64).to_be_bytes());
                async move { client.put(format!("t{i}").as_bytes(), &value).await }
            })
            .buffer_unordered(8)
            .collect(),
    );
    for r in results {
        r.expect("put");
    }
    let load_secs = t0.elapsed().as_secs_f64();
    println!("loaded {mib} MiB in {load_secs:.1} s");
    rampart_tests::wait_for(
        "every replica holds every object",
        Duration::from_secs(300),
        || {
            for i in 0..4 {
                let n = c.status(i)?["store"]["keyed"].as_u64().unwrap_or(0);
                if n < mib as u64 {
                    return Err(format!("node{i} holds {n}"));
                }
            }
            Ok(())
        },
    );

    let joined = c.join();
    let t_join = Instant::now();
    let mut t_member = None;
    let done = loop {
        std::thread::sleep(Duration::from_millis(50));
        let Ok(st) = c.status(joined) else {
            continue;
        };
        let members = st["members"].as_array().map_or(0, Vec::len);
        if members == 5 && t_member.is_none() {
            t_member = Some(Instant::now());
        }
        let t = &st["store"]["transfer"];
        if t_member.is_some()
            && t["pending_ranges"] == 0
            && t["waiting"] == false
            && t["ranges_finished"].as_u64().unwrap_or(0) > 0
        {
            break st;
        }
        assert!(
            t_join.elapsed() < Duration::from_secs(1800),
            "the transfer did not finish in 30 minutes: {t}"
        );
    };
    let t_done = Instant::now();
    let t_member = t_member.expect("member");
    let t = &done["store"]["transfer"];
    let bytes = t["bytes_fetched"].as_u64().unwrap_or(0) as f64;
    let objects = t["objects_fetched"].as_u64().unwrap_or(0) as f64;
    let secs = (t_done - t_member).as_secs_f64();
    let mbs = bytes / secs / 1e6;
    let join_secs = (t_member - t_join).as_secs_f64();
    println!("join to first epoch as a member: {join_secs:.1} s");
    println!(
        "transferred {:.0} MB in {objects:.0} objects to the new node in {secs:.1} s (epoch to every range transferred)",
        bytes / 1e6
    );
    println!(
        "| {:.0} MB/s | {:.0} objects/s | {secs:.1} s | rocksdb {rocks:.0} MB/s ({:.0}%) | loopback {loopback:.0} MB/s ({:.1}%) |",
        mbs,
        objects / secs,
        100.0 * mbs / rocks,
        100.0 * mbs / loopback
    );
    if let Some(path) = &args.json {
        let mut out = json_header("transfer", Some(sync));
        out["quick"] = json!(args.quick);
        out["wall_secs"] = json!(t_start.elapsed().as_secs_f64());
        out["machine"] = json!({
            "rocksdb_mb_per_s": rocks, "rocksdb_sample_mib": 256.min(mib),
            "loopback_mb_per_s": loopback, "loopback_sample_mib": 1024,
        });
        out["params"] = json!({
            "mib": mib, "object_bytes": MIB, "nodes_before": 4, "f": 1,
            "epoch_interval_ms": EPOCH_INTERVAL_MS, "rate_mib_s": 0, "load_in_flight": 8,
        });
        out["load_secs"] = json!(load_secs);
        out["load_mb_per_s"] = json!((mib * MIB) as f64 / load_secs / 1e6);
        out["join_to_member_secs"] = json!(join_secs);
        out["moved_bytes"] = json!(bytes);
        out["moved_objects"] = json!(objects);
        out["transfer_secs"] = json!(secs);
        out["mb_per_s"] = json!(mbs);
        out["objects_per_s"] = json!(objects / secs);
        out["rocksdb_ratio"] = json!(mbs / rocks);
        out["loopback_ratio"] = json!(mbs / loopback);
        write_json(path, &out);
    }
}
