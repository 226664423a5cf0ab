//! PBFT on real libp2p (issue 3): four `rampart node` processes on 127.0.0.1 order 10,000
//! requests from eight concurrent clients; midway the primary is killed (forcing a view
//! change) and later restarted from its rocksdb log; every replica ends with the same
//! executed history.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rampart::ordering::{self, LoadSpec};
use rampart_tests::cluster::Cluster;
use rampart_tests::wait_for;

const CLIENTS: usize = 8;
const PER_CLIENT: usize = 1_250;

fn pbft(c: &Cluster, i: usize) -> Result<serde_json::Value, String> {
    let s = c.status(i)?;
    if s["pbft"].is_null() {
        return Err(format!("node{i} runs no PBFT replica"));
    }
    Ok(s)
}

#[test]
fn four_replicas_order_10000_requests_across_a_primary_crash() {
    let mut c = Cluster::genesis(4);
    // Random client keys: the null application admits them, the membership service would not.
    c.node_config = "[pbft]\napplication = \"null\"\n".into();
    c.start_all();
    c.wait_meshed(Duration::from_secs(60));
    let s = wait_for("PBFT replicas up", Duration::from_secs(30), || pbft(&c, 0));
    let primary_id = s["pbft"]["primary"].as_str().unwrap().to_string();
    let primary = (0..4)
        .find(|i| c.status(*i).unwrap()["node"] == primary_id.as_str())
        .unwrap();
    let entry = c.nodes[(primary + 1) % 4].addr.clone();

    let done = Arc::new(AtomicU64::new(0));
    let counter = done.clone();
    let load = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let spec = LoadSpec {
            clients: CLIENTS,
            requests_per_client: PER_CLIENT,
            op_bytes: 16,
            timeout: Duration::from_secs(900),
            retry: Duration::from_secs(1),
        };
        rt.block_on(ordering::load(&entry, spec, |n| {
            counter.store(n, Ordering::Relaxed)
        }))
    });

    wait_for(
        "half the requests ordered",
        Duration::from_secs(600),
        || {
            let n = done.load(Ordering::Relaxed);
            if n >= 5_000 {
                Ok(())
            } else {
                Err(format!("{n} ordered"))
            }
        },
    );
    c.kill(primary);
    let before = done.load(Ordering::Relaxed);
    wait_for(
        "progress after the primary died",
        Duration::from_secs(120),
        || {
            let n = done.load(Ordering::Relaxed);
            if n >= before + 500 {
                Ok(())
            } else {
                Err(format!("{n} ordered, {before} when the primary died"))
            }
        },
    );
    let other = (primary + 1) % 4;
    let view = pbft(&c, other).unwrap()["pbft"]["view"].as_u64().unwrap();
    assert!(
        view > 0,
        "a view change should have replaced the dead primary"
    );
    c.start(primary);

    let report = load.join().unwrap().expect("the load completes");
    assert_eq!(report.ok, (CLIENTS * PER_CLIENT) as u64);

    let statuses = wait_for(
        "identical histories at all four replicas",
        Duration::from_secs(180),
        || {
            let all: Vec<serde_json::Value> =
                (0..4).map(|i| pbft(&c, i)).collect::<Result<_, _>>()?;
            let first = &all[0]["pbft"];
            for (i, s) in all.iter().enumerate() {
                let p = &s["pbft"];
                if p["executed_ops"] != first["executed_ops"] || p["state"] != first["state"] {
                    return Err(format!(
                        "node{i} executed {} ops (state {}), node0 {} ({})",
                        p["executed_ops"], p["state"], first["executed_ops"], first["state"]
                    ));
                }
            }
            Ok(all)
        },
    );
    let ops = statuses[0]["pbft"]["executed_ops"].as_u64().unwrap();
    assert_eq!(
        ops,
        (CLIENTS * PER_CLIENT) as u64,
        "each request executed exactly once"
    );
}
