//! `bench_epoch`: epoch change time on a real cluster. Four `rampart node` processes (f = 1)
//! with `[ms] epoch_interval_ms` set; nodes join one at a time: `rampart admin add-node
//! --peer` submits each admission to the MS, the new node starts with `--admission`, and the
//! bench times from the submission until every node (the old members and the new one) reports
//! the new epoch, polling each node's `/status` (the JSON of `rampart status --json`, from
//! the node's analyser on 127.0.0.1) with a deadline.
//!
//! The MS closes an epoch `epoch_interval_ms` after the epoch *began*, once a change is queued.
//! So the joins alternate between two cases: *aged* (the change is submitted when the
//! current epoch is older than the interval: the MS closes it at once) and *fresh* (submitted
//! as soon as every node is in the epoch the previous join made: the MS waits out most of the
//! interval). The first join is aged.
//!
//! Bound measured in the same run: the latency of one PBFT ordering round (one client, one
//! request at a time, p50) on four null-application node processes with the same
//! durability. An epoch change orders at least four operations one after another (the
//! admission, `NewEpoch`, the old holders' dealings, the new holders' `Ready`; the epoch
//! certificate is signed and ordered alongside the dealing), so its bound is 4 rounds, plus
//! the interval for a fresh change.
//!
//! `cargo build --profile bench -p rampart -p rampart-tests --bins && ./target/release/bench_epoch` (`--joins 6`,
//! `--interval-ms 1000`, `--quick`: 2 joins; `--no-sync`; `--json <file>`).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use rampart::ordering::{self, LoadSpec};
use rampart_tests::benchutil::{json_header, write_json};
use rampart_tests::cluster::{Cluster, Node};
use rampart_tests::{free_port, rampart_ok};
use serde_json::json;

/// Operations an epoch change orders one after another at least.
const SEQUENTIAL_ROUNDS: f64 = 4.0;

/// The MS driver acts on this tick (`actors::pbft::HOOK_TICK`): each step it takes may wait
/// for it.
const HOOK_TICK_MS: u64 = 200;

/// Epoch change time on node processes, with its bound.
#[derive(Parser)]
struct Args {
    /// Joins, alternately aged and fresh (default 6; 2 with --quick).
    #[arg(long)]
    joins: Option<usize>,
    /// The cluster's `[ms] epoch_interval_ms`.
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
    /// Ordering rounds timed for the bound (default 200; 40 with --quick).
    #[arg(long)]
    rounds: Option<usize>,
    /// 2 joins and 40 ordering rounds unless told otherwise.
    #[arg(long)]
    quick: bool,
    /// Turn the rocksdb WAL fsync off (not durable).
    #[arg(long)]
    no_sync: bool,
    /// Also write the figures, the bound and the command line to this file as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// `GET /status` from a node's analyser, parsed.
fn http_status(addr: &str) -> Result<serde_json::Value, String> {
    let sock: std::net::SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    let mut s = std::net::TcpStream::connect_timeout(&sock, Duration::from_secs(2))
        .map_err(|e| format!("{addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET /status HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let raw = String::from_utf8_lossy(&raw);
    let (head, body) = raw.split_once("\r\n\r\n").ok_or("no header end")?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(head.lines().next().unwrap_or("").to_string());
    }
    serde_json::from_str(body).map_err(|e| format!("status is not JSON: {e}"))
}

/// Polls node statuses: over HTTP where the node's analyser address is known, else with
/// `rampart status --json` (which also tells the analyser's address).
/// A process start for each CLI poll is costly on two cores, so a node without a known
/// analyser address is asked at most this often.
struct Poller {
    http: Vec<Option<String>>,
    cli_at: Vec<Option<Instant>>,
    cli_only: bool,
}

impl Poller {
    fn status(&mut self, c: &Cluster, i: usize) -> Result<serde_json::Value, String> {
        self.http.resize(c.nodes.len(), None);
        self.cli_at.resize(c.nodes.len(), None);
        if let Some(addr) = &self.http[i] {
            let r = http_status(addr);
            if let Err(e) = &r
                && e.starts_with("HTTP/")
            {
                // The analyser refused (it may want a token): ask with the CLI from now on.
                self.http[i] = None;
                self.cli_only = true;
            }
            return r;
        }
        let spacing = Duration::from_millis(if self.cli_only { 50 } else { 250 });
        if self.cli_at[i].is_some_and(|t| t.elapsed() < spacing) {
            return Err("asked a moment ago".into());
        }
        self.cli_at[i] = Some(Instant::now());
        let st = c.status(i)?;
        if !self.cli_only {
            self.http[i] = st["http"].as_str().map(str::to_string);
        }
        Ok(st)
    }
}

/// One PBFT ordering round's latency on four null-application nodes: (p50, p99) ms.
fn ordering_round(sync: bool, rounds: usize) -> (f64, f64) {
    let mut c = Cluster::genesis(4);
    c.node_config = format!("[pbft]\napplication = \"null\"\n[storage]\nsync = {sync}\n");
    c.start_all();
    c.wait_meshed(Duration::from_secs(60));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let spec = LoadSpec {
        clients: 1,
        requests_per_client: rounds,
        op_bytes: 16,
        timeout: Duration::from_secs(300),
        retry: Duration::from_secs(2),
    };
    let r = rt
        .block_on(ordering::load(&c.nodes[1].addr, spec, |_| {}))
        .expect("ordering load");
    (r.latency_ms(50.0), r.latency_ms(99.0))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let args = Args::parse();
    let t_start = Instant::now();
    let sync = !args.no_sync;
    let joins = args.joins.unwrap_or(if args.quick { 2 } else { 6 });
    let rounds = args.rounds.unwrap_or(if args.quick { 40 } else { 200 });
    let interval = Duration::from_millis(args.interval_ms);

    let (round_p50, round_p99) = ordering_round(sync, rounds);
    let change_bound = SEQUENTIAL_ROUNDS * round_p50;
    println!(
        "one PBFT ordering round (4 null-application nodes, 1 client, {rounds} requests, WAL fsync {}): p50 {round_p50:.2} ms, p99 {round_p99:.2} ms; {SEQUENTIAL_ROUNDS} rounds: {change_bound:.1} ms",
        if sync { "on" } else { "off" }
    );

    let mut c = Cluster::genesis(4);
    c.node_config = format!(
        "[ms]\nepoch_interval_ms = {}\n[storage]\nsync = {sync}\n",
        args.interval_ms
    );
    c.start_all();
    let statuses = c.wait_meshed(Duration::from_secs(90));
    let mut seen_all = Instant::now();
    let mut epoch = statuses[0]["epoch"].as_u64().expect("epoch");
    let mut poll = Poller {
        http: Vec::new(),
        cli_at: Vec::new(),
        cli_only: false,
    };
    // Keys first, so that making one does not count in a fresh join's epoch age.
    let keys: Vec<PathBuf> = (0..joins)
        .map(|k| {
            let dir = c.root.path().join(format!("node{}", 4 + k));
            let key = dir.join("node.key");
            rampart_ok(&["keygen", "--out", key.to_str().expect("utf-8")]);
            dir
        })
        .collect();

    println!("[ms] epoch_interval_ms = {}", args.interval_ms);
    println!();
    println!(
        "| join | MS waits | epoch | members | epoch age at submission ms | submit ms | every old member ms | every node ms (raw) | raw − interval ms | bound ms | raw ÷ bound |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut rows = Vec::new();
    for (k, dir) in keys.into_iter().enumerate() {
        let fresh = k % 2 == 1;
        if !fresh {
            // Let the epoch grow older than the interval, as the MS counts it (it began
            // before this bench saw every node in it).
            let due = seen_all + interval + Duration::from_millis(100);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        let old = c.nodes.len();
        let addr = format!("/ip4/127.0.0.1/tcp/{}", free_port());
        let s = |p: PathBuf| p.to_str().expect("utf-8").to_string();
        let t0 = Instant::now();
        let age = t0 - seen_all;
        rampart_ok(&[
            "admin",
            "--admin-dir",
            &s(c.admin_dir()),
            "add-node",
            "--key",
            &s(dir.join("node.pub")),
            "--addr",
            &addr,
            "--out",
            &s(dir.join("add.cert")),
            "--admission",
            &s(dir.join("node.admission")),
            "--peer",
            &c.nodes[0].addr,
        ]);
        let submit = t0.elapsed();
        c.nodes.push(Node {
            addr,
            dir,
            proc: None,
            prefix: Vec::new(),
            extra: Vec::new(),
        });
        c.start(old);
        let deadline = t0 + interval + Duration::from_secs(120);
        let mut first: Vec<Option<(Instant, u64, usize)>> = vec![None; old + 1];
        let mut polls = 0u64;
        while first.iter().any(Option::is_none) {
            for (i, seen) in first.iter_mut().enumerate() {
                if seen.is_some() {
                    continue;
                }
                if let Ok(st) = poll.status(&c, i) {
                    let e = st["epoch"].as_u64().unwrap_or(0);
                    if e > epoch {
                        let members = st["members"].as_array().map_or(0, Vec::len);
                        *seen = Some((Instant::now(), e, members));
                    }
                }
                polls += 1;
            }
            assert!(
                Instant::now() < deadline,
                "join {}: not every node reached the next epoch in {} s: {:?}",
                k + 1,
                (deadline - t0).as_secs(),
                first
                    .iter()
                    .map(|f| f.map(|(_, e, _)| e))
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let seen: Vec<(Instant, u64, usize)> = first.into_iter().flatten().collect();
        let t_old = seen[..old].iter().map(|s| s.0).max().expect("old members");
        let t_all = seen.iter().map(|s| s.0).max().expect("nodes");
        let new_epoch = seen.iter().map(|s| s.1).min().expect("epoch");
        let members = seen.iter().map(|s| s.2).min().expect("members");
        let raw = ms(t_all - t0);
        let bound = if fresh {
            ms(interval) + change_bound
        } else {
            change_bound
        };
        let minus = fresh.then(|| raw - ms(interval));
        println!(
            "| {} | {} | {new_epoch} | {members} | {:.0} | {:.0} | {:.0} | {raw:.0} | {} | {bound:.0} | {:.2} |",
            k + 1,
            if fresh {
                "the rest of the interval"
            } else {
                "nothing"
            },
            ms(age),
            ms(submit),
            ms(t_old - t0),
            minus.map_or("-".into(), |m| format!("{m:.0}")),
            raw / bound,
        );
        rows.push(json!({
            "join": k + 1,
            "case": if fresh { "fresh" } else { "aged" },
            "epoch": new_epoch,
            "members": members,
            "epoch_age_ms": ms(age),
            "submit_ms": ms(submit),
            "old_members_ms": ms(t_old - t0),
            "raw_ms": raw,
            "raw_minus_interval_ms": minus,
            "bound_ms": bound,
            "ratio": raw / bound,
            "status_polls": polls,
        }));
        epoch = new_epoch;
        seen_all = t_all;
    }
    for (i, n) in c.nodes.iter().enumerate() {
        assert!(!n.log().contains("panicked"), "node{i} panicked");
    }
    let summary = |case: &str| {
        let mut v: Vec<f64> = rows
            .iter()
            .filter(|r| r["case"] == case)
            .filter_map(|r| r["raw_ms"].as_f64())
            .collect();
        v.sort_by(f64::total_cmp);
        (
            v.first().copied(),
            v.get(v.len() / 2).copied(),
            v.last().copied(),
        )
    };
    for case in ["aged", "fresh"] {
        if let (Some(lo), Some(med), Some(hi)) = summary(case) {
            println!("{case}: raw min {lo:.0} ms, median {med:.0} ms, max {hi:.0} ms");
        }
    }
    if let Some(path) = &args.json {
        let mut out = json_header("epoch", Some(sync));
        out["quick"] = json!(args.quick);
        out["wall_secs"] = json!(t_start.elapsed().as_secs_f64());
        out["machine"] = json!({
            "ordering_round_p50_ms": round_p50,
            "ordering_round_p99_ms": round_p99,
            "ordering_rounds_timed": rounds,
        });
        out["params"] = json!({
            "epoch_interval_ms": args.interval_ms, "joins": joins, "nodes_before": 4, "f": 1,
            "sequential_rounds": SEQUENTIAL_ROUNDS, "hook_tick_ms": HOOK_TICK_MS,
        });
        out["change_bound_ms"] = json!(change_bound);
        out["rows"] = json!(rows);
        write_json(path, &out);
    }
}
