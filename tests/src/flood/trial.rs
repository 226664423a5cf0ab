//! One flood against a fresh 7-node cluster, and what held while it ran: the body of the
//! flood test and of `bench_flood`, which runs it at several sizes.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use libp2p::Multiaddr;
use overlay::id::ClientId;
use rampart::client::{Client, ClientOptions};

use super::{Attack, Part, Tally};
use crate::cluster::Cluster;
use crate::{rampart_ok, wait_for};

/// Epochs close at least this often when something is queued.
pub const EPOCH_MS: u64 = 1_000;
/// A revocation must show at every node within this (a join within twice this).
pub const TAKES_EFFECT: Duration = Duration::from_secs(30);

/// What one trial measured.
#[derive(Debug)]
pub struct Outcome {
    /// The flood's identities.
    pub identities: usize,
    /// The flood's own count of what it did.
    pub flood: String,
    /// Requests the flood sent per second.
    pub offered_per_sec: f64,
    /// From the admin's command to every node listing the revocation.
    pub revoked_after: Duration,
    /// From starting the joiner to every node listing it.
    pub joined_after: Duration,
    /// Epoch before and after.
    pub epochs: (u64, u64),
    /// The slowest put+get, before and during the flood.
    pub worst: (Duration, Duration),
    /// Each node's resident memory at the end of the flood, KiB.
    pub rss_kib: Vec<u64>,
    /// The nodes' refusals, summed, by bound.
    pub refused: Vec<(String, u64)>,
}

impl Outcome {
    /// The nodes' refusals at `bound`.
    pub fn refused(&self, bound: &str) -> u64 {
        self.refused
            .iter()
            .find(|(b, _)| b == bound)
            .map_or(0, |(_, n)| *n)
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The slowest of `n` puts and gets (each put+get halved).
async fn worst(client: &Client, tag: &str, n: usize) -> Duration {
    let mut worst = Duration::ZERO;
    for i in 0..n {
        let name = format!("{tag}-{i}");
        let t = Instant::now();
        client.put(name.as_bytes(), b"value").await.expect("put");
        let got = client.get(name.as_bytes()).await.expect("get");
        assert_eq!(got.as_deref(), Some(&b"value"[..]), "read back {name}");
        worst = worst.max(t.elapsed() / 2);
    }
    worst
}

fn max_epoch(c: &Cluster) -> u64 {
    (0..c.nodes.len())
        .filter_map(|i| c.status(i).ok())
        .filter_map(|s| s["epoch"].as_u64())
        .max()
        .unwrap_or(0)
}

/// The flood at `scale`: 440 identities at scale 1 (70 each of junk orders, forged orders
/// and freshness, 35 configuration askers, 35 publishing gossip junk, 20 sending expensive
/// PBFT frames, 140 holding connections at node 6 from one host).
pub fn parts(c: &Cluster, scale: usize) -> Vec<Part> {
    let all: Vec<Multiaddr> = c
        .nodes
        .iter()
        .map(|n| n.addr.parse().expect("addr"))
        .collect();
    let sources: Vec<Ipv4Addr> = (2..=5).map(|d| Ipv4Addr::new(127, 0, 0, d)).collect();
    let part =
        |attack, identities: usize, wave, targets: &[Multiaddr], sources: &[Ipv4Addr]| Part {
            attack,
            identities: identities * scale,
            wave,
            pause: Duration::from_millis(300),
            sources: sources.to_vec(),
            targets: targets.to_vec(),
        };
    vec![
        part(Attack::Order, 70, 8, &all, &sources),
        part(Attack::ForgedOrder, 70, 8, &all, &sources),
        part(Attack::Freshness, 70, 4, &all, &sources),
        part(Attack::Config, 35, 4, &all, &sources),
        part(Attack::Gossip, 35, 4, &all, &sources),
        part(Attack::Pbft, 20, 1, &all, &sources),
        // Past one host's share of connections at node 6.
        part(Attack::Hold, 140, 0, &all[6..], &sources[..1]),
    ]
}

fn wait_revoked(c: &Cluster, victim: &str) {
    wait_for("the revocation at every node", TAKES_EFFECT, || {
        for i in 0..c.nodes.len() {
            let s = c.status(i).map_err(|e| {
                format!(
                    "node{i}: {e}; its last warnings:\n{}",
                    c.nodes[i].warnings(8)
                )
            })?;
            let revoked = s["revoked"].to_string();
            if !revoked.contains(victim) {
                return Err(format!("node{i} has not revoked it: {revoked}"));
            }
        }
        Ok(())
    });
}

fn wait_members(c: &Cluster, n: usize, tally: &Tally) {
    wait_for("the joined node at every node", TAKES_EFFECT * 2, || {
        for i in 0..c.nodes.len() {
            let got = c.status(i)?["members"].as_array().map_or(0, |m| m.len());
            if got != n {
                return Err(format!(
                    "node{i} lists {got} members; flood: {}",
                    tally.line()
                ));
            }
        }
        Ok(())
    });
}

fn revoke(c: &Cluster, name: &str) {
    let admin = c.admin_dir();
    let out = c.root.path().join(format!("{name}.revoke"));
    rampart_ok(&[
        "admin",
        "--admin-dir",
        admin.to_str().expect("utf-8"),
        "revoke-client",
        "--client",
        name,
        "--out",
        out.to_str().expect("utf-8"),
        "--peer",
        &c.nodes[1].addr,
    ]);
}

/// Starts a 7-node cluster, floods it at `scale`, and measures a revocation, a join, epochs,
/// a client's latency and the nodes' memory while the flood runs.
pub fn run(scale: usize) -> Outcome {
    let mut c = Cluster::genesis(7);
    c.node_config = format!("[ms]\nepoch_interval_ms = {EPOCH_MS}\n");
    c.start_all();
    c.wait_meshed(Duration::from_secs(90));
    let app = c.client("app", "put,get", "1d");
    c.client("victim", "put,get", "1d");
    let victim = bootstrap::credential::read(&c.root.path().join("clients/victim.cred"))
        .expect("victim credential");
    let victim = ClientId::of(&victim.key.public()).to_string();
    let authority = bootstrap::bundle::read(&c.nodes[0].dir.join("node.bundle"))
        .expect("bundle")
        .authority;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let opts = ClientOptions::from_client_file(&app).expect("client file");
    let client = rt.block_on(Client::connect(opts)).expect("client connects");
    let calm = rt.block_on(worst(&client, "calm", 10));

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let parts = parts(&c, scale);
    let identities = parts.iter().map(|p| p.identities).sum();
    let started = Instant::now();
    // The flood's thousands of tasks get a runtime of their own: on the client's, they
    // would starve its driver and the bench would measure tokio's queue, not the nodes.
    let flood_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("flood runtime");
    let flood = flood_rt.spawn(super::run(parts, authority, tally.clone(), stop.clone()));
    wait_for("the flood under way", Duration::from_secs(60), || {
        let sent = tally.sent.load(Ordering::Relaxed);
        (sent > 2_000).then_some(()).ok_or(tally.line())
    });
    let epoch0 = max_epoch(&c);
    let t = Instant::now();
    revoke(&c, "victim");
    wait_revoked(&c, &victim);
    let revoked_after = t.elapsed();
    let t = Instant::now();
    c.join();
    wait_members(&c, 8, &tally);
    let joined_after = t.elapsed();
    let epoch1 = max_epoch(&c);
    let flooded = rt.block_on(worst(&client, "flood", 10));
    let rss_kib = c
        .nodes
        .iter()
        .filter_map(|n| n.proc.as_ref().map(|p| rss_kib(p.id())))
        .collect();
    stop.store(true, Ordering::Relaxed);
    let secs = started.elapsed().as_secs_f64();
    flood_rt.block_on(flood).expect("flood ends");
    let statuses: Vec<serde_json::Value> = (0..c.nodes.len())
        .map(|i| c.status(i).expect("status")["refused"].clone())
        .collect();
    let bounds = [
        "order_not_admitted",
        "order_bad_signature",
        "order_full",
        "freshness_rate",
        "sessions",
        "nonces",
        "connections",
        "gossip",
        "pbft_outsider",
        "answer_bytes",
    ];
    let refused = bounds
        .iter()
        .map(|b| {
            let n = statuses.iter().map(|r| r[*b].as_u64().unwrap_or(0)).sum();
            (b.to_string(), n)
        })
        .collect();
    Outcome {
        identities,
        offered_per_sec: tally.sent.load(Ordering::Relaxed) as f64 / secs,
        flood: tally.line(),
        revoked_after,
        joined_after,
        epochs: (epoch0, epoch1),
        worst: (calm, flooded),
        rss_kib,
        refused,
    }
}

/// `bench_flood`'s rows (its JSON) as a Markdown table.
pub fn table(rows: &[serde_json::Value]) -> String {
    let mut out = String::from(
        "| identities | requests/s offered | revoked after | joined after | epochs | put+get worst, calm | flooded | max node RSS | refused: not admitted | bad signature | freshness rate | sessions | connections | gossip |\n\
         |---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        if let Some(why) = r["failed"].as_str() {
            let first = why.lines().next().unwrap_or(why);
            out += &format!(
                "| scale {} | **did not finish**: {} ||||||||||||\n",
                r["scale"],
                first.replace('|', "/")
            );
            continue;
        }
        let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
        let refused = |k: &str| r["refused"][k].as_u64().unwrap_or(0);
        out += &format!(
            "| {} | {:.0} | {:.1} s | {:.1} s | {} → {} | {:.1} ms | {:.1} ms | {} MiB | {} | {} | {} | {} | {} | {} |\n",
            r["identities"],
            f("offered_per_sec"),
            f("revoked_after_s"),
            f("joined_after_s"),
            r["epochs"][0],
            r["epochs"][1],
            f("worst_calm_ms"),
            f("worst_flooded_ms"),
            r["max_rss_mib"],
            refused("order_not_admitted"),
            refused("order_bad_signature"),
            refused("freshness_rate"),
            refused("sessions"),
            refused("connections"),
            refused("gossip"),
        );
    }
    out
}
