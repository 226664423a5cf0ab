//! `bench_etcd`: a 3-member etcd on loopback (Debian's `etcd-server`, fsync on every write),
//! measured with the same value size and client counts as `bench_dbqs`, so that the report can
//! put Rampart beside it as ratios from one run.
//!
//! It runs the peers' script (`../shared/peers/etcd/run.sh OP SIZE CLIENTS SECONDS` beside
//! the repository, or `--script <path>`), which starts a fresh cluster for each row, runs a
//! closed-loop Go load client on etcd's own v3 client library and prints one `RESULT` line.
//! `./target/release/bench_etcd [--clients 1,50] [--size 1024] [--secs 15] [--json <file>]`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use clap::Parser;
use rampart_tests::benchutil::{fsync_rate, json_header, write_json};
use serde_json::json;

/// etcd put and get beside the same machine's fsync rate.
#[derive(Parser)]
struct Args {
    /// Concurrent closed-loop clients, comma-separated; one row per count and operation.
    #[arg(long, value_delimiter = ',', default_value = "1,50")]
    clients: Vec<usize>,
    /// Value size in bytes.
    #[arg(long, default_value_t = 1024)]
    size: usize,
    /// Measured seconds a row (after 3 s of warm-up).
    #[arg(long, default_value_t = 15)]
    secs: u64,
    /// 5 s a row.
    #[arg(long)]
    quick: bool,
    /// The script that starts etcd and measures it.
    #[arg(long)]
    script: Option<PathBuf>,
    /// Also write the figures and the command line to this file as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// The script the peers' directory holds, beside the repository.
fn default_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/peers/etcd/run.sh")
}

/// `key=value` fields of the script's `RESULT` line.
fn result_fields(out: &str) -> Option<BTreeMap<String, String>> {
    let line = out.lines().find(|l| l.starts_with("RESULT "))?;
    Some(
        line.split_whitespace()
            .skip(1)
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

/// One row: the script run for `op` at `clients`, or why it gave no figures.
fn row(script: &PathBuf, op: &str, size: usize, clients: usize, secs: u64) -> serde_json::Value {
    let out = Command::new("bash")
        .arg(script)
        .args([
            op,
            &size.to_string(),
            &clients.to_string(),
            &secs.to_string(),
        ])
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => return json!({"op": op, "clients": clients, "error": e.to_string()}),
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(fields) = result_fields(&text).filter(|_| out.status.success()) else {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        let why = format!(
            "{}: {}",
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        );
        return json!({"op": op, "clients": clients, "error": why});
    };
    let num = |k: &str| fields.get(k).and_then(|v| v.parse::<f64>().ok());
    json!({
        "op": op,
        "clients": clients,
        "value_bytes": size,
        "ops": num("ops"),
        "ops_per_s": num("ops_per_s"),
        "p50_ms": num("p50_us").map(|u| u / 1000.0),
        "p99_ms": num("p99_us").map(|u| u / 1000.0),
    })
}

fn main() {
    let args = Args::parse();
    let t0 = Instant::now();
    let script = args.script.clone().unwrap_or_else(default_script);
    if !script.is_file() {
        eprintln!(
            "bench_etcd: no etcd script at {} (pass --script <run.sh>)",
            script.display()
        );
        std::process::exit(2);
    }
    let secs = if args.quick { 5 } else { args.secs };
    let fsyncs = fsync_rate();
    println!("disk: {fsyncs:.0} fsyncs/s; etcd: 3 members on 127.0.0.1, fsync on every write");
    println!("| op | clients | ops/s | p50 ms | p99 ms |\n|---|---:|---:|---:|---:|");
    let mut rows = Vec::new();
    for op in ["put", "get"] {
        for &clients in &args.clients {
            let r = row(&script, op, args.size, clients, secs);
            match r["error"].as_str() {
                Some(e) => println!("| {op} | {clients} | failed: {e} | | |"),
                None => println!(
                    "| {op} | {clients} | {:.0} | {:.2} | {:.2} |",
                    r["ops_per_s"].as_f64().unwrap_or(0.0),
                    r["p50_ms"].as_f64().unwrap_or(0.0),
                    r["p99_ms"].as_f64().unwrap_or(0.0)
                ),
            }
            rows.push(r);
        }
    }
    let failed = rows.iter().any(|r| r.get("error").is_some());
    if let Some(path) = &args.json {
        let mut j = json_header("etcd", Some(true));
        j["machine"] = json!({ "fsyncs_per_s": fsyncs });
        j["params"] = json!({ "value_bytes": args.size, "secs_per_row": secs });
        j["rows"] = json!(rows);
        j["wall_secs"] = json!(t0.elapsed().as_secs_f64());
        write_json(path, &j);
    }
    if failed {
        std::process::exit(1);
    }
}
