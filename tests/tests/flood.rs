//! Outsiders with a few hundred made-up identities flood a real 7-node cluster from four
//! loopback addresses (issue 18): junk and forged order requests, freshness requests,
//! configuration requests, and connections held open. While it runs, an admin revocation
//! and a join must take effect, epochs must keep closing, a client's puts and gets must stay
//! within a bound of their unloaded latency, and every node's memory under a ceiling. The
//! nodes' own counters must show the flood refused at its bounds.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use libp2p::Multiaddr;
use overlay::id::ClientId;
use rampart::client::{Client, ClientOptions};
use rampart_tests::cluster::Cluster;
use rampart_tests::flood::{self, Attack, Part, Tally};
use rampart_tests::{rampart_ok, wait_for};

/// Epochs close at least this often when something is queued.
const EPOCH_MS: u64 = 1_000;
/// A revocation or a join must show at every node within this, flood or not.
const TAKES_EFFECT: Duration = Duration::from_secs(30);
/// A node's resident memory must stay under this.
const RSS_CEILING_KIB: u64 = 1024 * 1024;
/// Loaded put/get worst case against the unloaded one (at least 100 ms is allowed).
const LATENCY_FACTOR: u32 = 10;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The slowest of `n` puts and `n` gets.
async fn worst(client: &Client, tag: &str, n: usize) -> Duration {
    let mut worst = Duration::ZERO;
    for i in 0..n {
        let name = format!("{tag}-{i}");
        let t = Instant::now();
        client.put(name.as_bytes(), b"value").await.expect("put");
        assert_eq!(
            client.get(name.as_bytes()).await.expect("get").as_deref(),
            Some(&b"value"[..])
        );
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

fn parts(c: &Cluster) -> Vec<Part> {
    let all: Vec<Multiaddr> = c.nodes.iter().map(|n| n.addr.parse().unwrap()).collect();
    let sources: Vec<Ipv4Addr> = (2..=5).map(|d| Ipv4Addr::new(127, 0, 0, d)).collect();
    let part = |attack, identities, wave, targets: &[Multiaddr], sources: &[Ipv4Addr]| Part {
        attack,
        identities,
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
        // Past one host's share of connections at node 6.
        part(Attack::Hold, 160, 0, &all[6..], &sources[..1]),
    ]
}

#[test]
fn outsiders_with_made_up_identities_do_not_stop_revocations_joins_or_epochs() {
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
        .unwrap();
    let opts = ClientOptions::from_client_file(&app).expect("client file");
    let client = rt.block_on(Client::connect(opts)).expect("client connects");
    let unloaded = rt.block_on(worst(&client, "calm", 10));

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let flood = rt.spawn(flood::run(
        parts(&c),
        authority,
        tally.clone(),
        stop.clone(),
    ));
    wait_for("the flood under way", Duration::from_secs(60), || {
        let sent = tally.sent.load(Ordering::Relaxed);
        (sent > 2_000)
            .then_some(())
            .ok_or(format!("{}", tally.line()))
    });
    let epoch0 = max_epoch(&c);

    let t = Instant::now();
    let admin = c.admin_dir();
    rampart_ok(&[
        "admin",
        "--admin-dir",
        admin.to_str().unwrap(),
        "revoke-client",
        "--client",
        "victim",
        "--out",
        c.root.path().join("victim.revoke").to_str().unwrap(),
        "--peer",
        &c.nodes[1].addr,
    ]);
    wait_for("the revocation at every node", TAKES_EFFECT, || {
        for i in 0..c.nodes.len() {
            let s = c.status(i).map_err(|e| {
                format!(
                    "node{i}: {e}; its last warnings:\n{}",
                    c.nodes[i].warnings(8)
                )
            })?;
            let revoked = s["revoked"].to_string();
            if !revoked.contains(&victim) {
                return Err(format!("node{i} has not revoked it: {revoked}"));
            }
        }
        Ok(())
    });
    let revoked_after = t.elapsed();

    let t = Instant::now();
    c.join();
    wait_for("the joined node at every node", TAKES_EFFECT * 2, || {
        for i in 0..c.nodes.len() {
            let n = c.status(i)?["members"].as_array().map_or(0, |m| m.len());
            if n != 8 {
                return Err(format!(
                    "node{i} lists {n} members; flood: {}",
                    tally.line()
                ));
            }
        }
        Ok(())
    });
    let joined_after = t.elapsed();
    let epoch1 = max_epoch(&c);
    let loaded = rt.block_on(worst(&client, "flood", 10));
    let rss: Vec<u64> = c
        .nodes
        .iter()
        .filter_map(|n| n.proc.as_ref().map(|p| rss_kib(p.id())))
        .collect();
    stop.store(true, Ordering::Relaxed);
    rt.block_on(flood).expect("flood ends");

    let refused: Vec<serde_json::Value> = (0..c.nodes.len())
        .map(|i| c.status(i).expect("status")["refused"].clone())
        .collect();
    let sum = |k: &str| {
        refused
            .iter()
            .map(|r| r[k].as_u64().unwrap_or(0))
            .sum::<u64>()
    };
    println!(
        "flood: {}\nrevoked after {:.1}s, joined after {:.1}s, epochs {epoch0} -> {epoch1}\n\
         put+get worst {unloaded:?} unloaded, {loaded:?} flooded; RSS KiB {rss:?}\n\
         refused: order_not_admitted {}, order_bad_signature {}, freshness_rate {}, sessions {}, connections {}",
        tally.line(),
        revoked_after.as_secs_f64(),
        joined_after.as_secs_f64(),
        sum("order_not_admitted"),
        sum("order_bad_signature"),
        sum("freshness_rate"),
        sum("sessions"),
        sum("connections"),
    );
    assert!(epoch1 >= epoch0 + 2, "epochs stopped: {epoch0} -> {epoch1}");
    let allowed = unloaded.max(Duration::from_millis(100)) * LATENCY_FACTOR;
    assert!(
        loaded <= allowed,
        "put+get {loaded:?} flooded, {unloaded:?} unloaded"
    );
    assert!(
        rss.iter().all(|&k| k < RSS_CEILING_KIB),
        "a node's RSS passed {RSS_CEILING_KIB} KiB: {rss:?}"
    );
    assert!(
        sum("order_not_admitted") > 0,
        "junk orders were not refused at intake"
    );
    assert!(
        sum("order_bad_signature") > 0,
        "forged orders were not refused at intake"
    );
    assert!(
        sum("freshness_rate") + sum("sessions") > 0,
        "freshness was never limited"
    );
    assert!(
        sum("connections") > 0,
        "no connection was refused at node 6's per-IP bound"
    );
}
