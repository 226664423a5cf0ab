//! The membership service on real processes (issue 4, part): the admin submits certificates
//! through the CLI to a 4-node cluster whose MS group orders them with PBFT; every MS replica
//! ends with the same queue, replays and strangers are refused with a reason, and nothing a
//! refused submission carried changes the state.

use std::path::Path;
use std::time::Duration;

use rampart_tests::cluster::Cluster;
use rampart_tests::{rampart_fails, rampart_ok, wait_for};

/// These tests start up to ten node processes each; run one at a time, so that on a small
/// machine their deadlines measure the system, not the contention between clusters.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The `ms` queue every MS replica reports, once they all agree on it.
fn agreed_queue(c: &Cluster, want: (u64, u64, u64)) -> serde_json::Value {
    wait_for(
        "MS replicas agree on the queue",
        Duration::from_secs(30),
        || {
            let mut seen = Vec::new();
            for i in 0..c.nodes.len() {
                let st = c.status(i)?;
                let q = st["pbft"]["ms"].clone();
                if q.is_null() {
                    return Err(format!("node{i} reports no MS queue: {st}"));
                }
                seen.push((q, st["pbft"]["state"].clone()));
            }
            let (q, state) = &seen[0];
            let got = (
                q["adds"].as_u64().unwrap(),
                q["removes"].as_u64().unwrap(),
                q["revokes"].as_u64().unwrap(),
            );
            if got != want || seen.iter().any(|(_, st)| st != state) {
                return Err(format!("queues {seen:?}, want {want:?}"));
            }
            Ok(q.clone())
        },
    )
}

#[test]
fn the_admin_submits_certificates_to_the_running_membership_service() {
    let _serial = serial();
    let mut c = Cluster::genesis(4);
    c.start_all();
    c.wait_meshed(Duration::from_secs(60));
    let admin = c.admin_dir();
    let a = s(&admin);
    let dir = c.root.path().to_path_buf();
    agreed_queue(&c, (0, 0, 0));

    // A node that is not a member yet is admitted: queued for the next epoch.
    let key = dir.join("newcomer.key");
    rampart_ok(&["keygen", "--out", s(&key)]);
    let add = dir.join("newcomer.add.cert");
    let out = rampart_ok(&[
        "admin",
        "--admin-dir",
        a,
        "add-node",
        "--key",
        s(&key.with_extension("pub")),
        "--addr",
        "/ip4/127.0.0.1/tcp/9",
        "--out",
        s(&add),
        "--peer",
        &c.nodes[0].addr,
    ]);
    assert!(out.contains("queued it for the next epoch"), "{out}");

    // The same certificate again, through another node: a replay.
    let err = rampart_fails(&[
        "admin",
        "--admin-dir",
        a,
        "submit",
        s(&add),
        "--peer",
        &c.nodes[2].addr,
    ]);
    assert!(err.contains("certificate already used"), "{err}");

    // A member is removed; a client is registered and revoked.
    let members = c.status(0).unwrap()["members"].clone();
    let victim = members[3]["node"].as_str().unwrap().to_string();
    let rm = dir.join("victim.remove.cert");
    let out = rampart_ok(&[
        "admin",
        "--admin-dir",
        a,
        "remove-node",
        "--node",
        &victim,
        "--out",
        s(&rm),
        "--peer",
        &c.nodes[1].addr,
    ]);
    assert!(out.contains("queued"), "{out}");
    let cred = dir.join("app.cred");
    rampart_ok(&[
        "admin",
        "--admin-dir",
        a,
        "add-client",
        "--name",
        "app",
        "--out",
        s(&cred),
    ]);
    let rv = dir.join("app.revoke.cert");
    let out = rampart_ok(&[
        "admin",
        "--admin-dir",
        a,
        "revoke-client",
        "--client",
        "app",
        "--out",
        s(&rv),
        "--peer",
        &c.nodes[3].addr,
    ]);
    assert!(out.contains("queued"), "{out}");
    let q = agreed_queue(&c, (1, 1, 1));
    assert_eq!(q["epoch"], 0);

    // Removing a node that is not a member is refused with the reason, and changes nothing.
    let stranger = dir.join("stranger.key");
    rampart_ok(&["keygen", "--out", s(&stranger)]);
    let rm2 = dir.join("stranger.remove.cert");
    let err = rampart_fails(&[
        "admin",
        "--admin-dir",
        a,
        "remove-node",
        "--node",
        s(&stranger.with_extension("pub")),
        "--out",
        s(&rm2),
        "--peer",
        &c.nodes[0].addr,
    ]);
    assert!(err.contains("is not a member"), "{err}");
    assert!(err.contains("written but not submitted"), "{err}");
    // A client credential is not something the MS takes.
    let err = rampart_fails(&[
        "admin",
        "--admin-dir",
        a,
        "submit",
        s(&cred),
        "--peer",
        &c.nodes[0].addr,
    ]);
    assert!(
        err.contains("not submitted to the membership service") || err.contains("certificate"),
        "{err}"
    );
    agreed_queue(&c, (1, 1, 1));

    // The queue survives an MS replica's restart: it replays its PBFT log.
    c.kill(2);
    c.start(2);
    c.wait_meshed(Duration::from_secs(60));
    agreed_queue(&c, (1, 1, 1));
}

#[test]
fn freshness_certificates_need_f_ms_plus_one_holders() {
    let _serial = serial();
    let mut c = Cluster::genesis(4);
    c.start_all();
    c.wait_meshed(Duration::from_secs(60));
    let bundle = c.nodes[0].dir.join("node.bundle");
    let b = s(&bundle);
    let nonce = "ab".repeat(32);
    for i in 0..4 {
        let out = rampart_ok(&[
            "freshness",
            "--peer",
            &c.nodes[i].addr,
            "--ms-key",
            b,
            "--nonce",
            &nonce,
            "--json",
        ]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["verified"], true, "{out}");
        assert_eq!(v["epoch"], 0);
        assert_eq!(v["nonce"], nonce.as_str());
    }
    // A certificate checked against another key is an error, not a success.
    let other = c.root.path().join("other.key");
    rampart_ok(&["keygen", "--out", s(&other)]);
    let err = rampart_fails(&[
        "freshness",
        "--peer",
        &c.nodes[1].addr,
        "--ms-key",
        s(&other.with_extension("pub")),
    ]);
    assert!(err.contains("does not verify"), "{err}");

    // f_ms = 1: with one holder down, the other three still sign.
    c.kill(3);
    let out = rampart_ok(&["freshness", "--peer", &c.nodes[0].addr, "--ms-key", b]);
    assert!(out.contains("verified"), "{out}");
    // With only two holders left... still f_ms+1 = 2.
    c.kill(2);
    let out = rampart_ok(&["freshness", "--peer", &c.nodes[1].addr, "--ms-key", b]);
    assert!(out.contains("verified"), "{out}");
    // With one left, f_ms shares cannot sign: a clear refusal within the session deadline.
    c.kill(1);
    let t = std::time::Instant::now();
    let err = rampart_fails(&["freshness", "--peer", &c.nodes[0].addr, "--ms-key", b]);
    assert!(err.contains("did not give f_ms+1 valid shares"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
}

/// Every node's (epoch, configuration hash), once all answer and agree on `epoch`.
fn wait_epoch(c: &Cluster, epoch: u64, limit: Duration) -> String {
    wait_for(&format!("every node at epoch {epoch}"), limit, || {
        let mut hashes = Vec::new();
        for i in 0..c.nodes.len() {
            if c.nodes[i].proc.is_none() {
                continue;
            }
            let st = c.status(i)?;
            if st["epoch"] != epoch {
                return Err(format!("node{i} at epoch {}", st["epoch"]));
            }
            hashes.push(st["config_hash"].as_str().unwrap_or("").to_string());
        }
        hashes.dedup();
        if hashes.len() != 1 {
            return Err(format!("configuration hashes differ: {hashes:?}"));
        }
        Ok(hashes[0].clone())
    })
}

fn revoke_new_client(c: &Cluster, name: &str, via: usize) {
    let admin = c.admin_dir();
    let a = s(&admin);
    let dir = c.root.path();
    let cred = dir.join(format!("{name}.cred"));
    rampart_ok(&[
        "admin",
        "--admin-dir",
        a,
        "add-client",
        "--name",
        name,
        "--out",
        s(&cred),
    ]);
    let rv = dir.join(format!("{name}.revoke"));
    let out = rampart_ok(&[
        "admin",
        "--admin-dir",
        a,
        "revoke-client",
        "--client",
        name,
        "--out",
        s(&rv),
        "--peer",
        &c.nodes[via].addr,
    ]);
    assert!(out.contains("queued"), "{out}");
}

#[test]
fn epochs_change_through_the_ms_and_every_node_adopts_them() {
    let _serial = serial();
    let mut c = Cluster::genesis(4);
    c.node_config = "[ms]\nepoch_interval_ms = 1000\n".into();
    c.start_all();
    c.wait_meshed(Duration::from_secs(60));
    let bundle = c.nodes[0].dir.join("node.bundle");
    revoke_new_client(&c, "first", 0);
    let h1 = wait_epoch(&c, 1, Duration::from_secs(60));
    // The epoch's MS signs freshness under the same key.
    let out = rampart_ok(&[
        "freshness",
        "--peer",
        &c.nodes[2].addr,
        "--ms-key",
        s(&bundle),
        "--json",
    ]);
    assert!(
        out.contains("\"epoch\": 1") && out.contains("\"verified\": true"),
        "{out}"
    );
    // The next epoch runs on the instance the handover started.
    revoke_new_client(&c, "second", 1);
    let h2 = wait_epoch(&c, 2, Duration::from_secs(60));
    assert_ne!(h1, h2);
    // A restarted node comes back at epoch 2 and the MS goes on to epoch 3.
    c.kill(3);
    c.start(3);
    c.wait_meshed(Duration::from_secs(60));
    wait_epoch(&c, 2, Duration::from_secs(30));
    revoke_new_client(&c, "third", 3);
    wait_epoch(&c, 3, Duration::from_secs(60));
    let fresh = rampart_tests::rampart(&[
        "freshness",
        "--peer",
        &c.nodes[3].addr,
        "--ms-key",
        s(&bundle),
    ]);
    if !fresh.status.success() && std::env::var("SHOW_LOGS").is_ok() {
        for i in 0..4 {
            eprintln!("==== node{i}\n{}", c.nodes[i].log());
        }
    }
    let out = String::from_utf8_lossy(&fresh.stdout);
    assert!(
        out.contains("verified"),
        "{out}{}",
        String::from_utf8_lossy(&fresh.stderr)
    );
    for i in 0..4 {
        assert!(!c.nodes[i].log().contains("panicked"), "node{i} panicked");
    }
    if std::env::var("SHOW_LOGS").is_ok() {
        println!("{}", c.nodes[0].log());
    }
}

/// The MS group as node 0 reports it.
fn ms_group(c: &Cluster) -> Vec<String> {
    let st = c.status(0).unwrap();
    let mut g: Vec<String> = st["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["ms"] == true)
        .map(|m| m["node"].as_str().unwrap().to_string())
        .collect();
    g.sort();
    g
}

#[test]
fn the_ms_group_rotates_among_seven_nodes_and_keeps_its_key() {
    let _serial = serial();
    let mut c = Cluster::genesis(7);
    c.node_config = "[ms]\nepoch_interval_ms = 1000\n".into();
    c.start_all();
    c.wait_meshed(Duration::from_secs(60));
    let bundle = c.nodes[0].dir.join("node.bundle");
    let mut groups = vec![ms_group(&c)];
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for epoch in 1..=4u64 {
            revoke_new_client(&c, &format!("client{epoch}"), (epoch as usize) % 7);
            wait_epoch(&c, epoch, Duration::from_secs(60));
            groups.push(ms_group(&c));
            let out = rampart_ok(&[
                "freshness",
                "--peer",
                &c.nodes[0].addr,
                "--ms-key",
                s(&bundle),
                "--json",
            ]);
            assert!(
                out.contains(&format!("\"epoch\": {epoch}")) && out.contains("\"verified\": true"),
                "{out}"
            );
        }
    }));
    if let Err(e) = run {
        if std::env::var("SHOW_LOGS").is_ok() {
            for i in 0..7 {
                eprintln!("==== node{i}\n{}", c.nodes[i].log());
            }
        }
        std::panic::resume_unwind(e);
    }
    let changes = groups.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(
        changes >= 2,
        "the MS group should rotate at least twice: {groups:?}"
    );
    for i in 0..7 {
        assert!(!c.nodes[i].log().contains("panicked"), "node{i} panicked");
    }
    // Every handover leaves the old replicas serving their instance for a while (so that
    // replicas that missed its last commits can catch up), not stopped at once.
    let retiring = (0..7)
        .map(|i| {
            c.nodes[i]
                .log()
                .matches("keeps serving lagging peers")
                .count()
        })
        .sum::<usize>();
    assert!(
        retiring >= 4 * 3,
        "at least 3 old replicas retire at each of 4 handovers: {retiring}"
    );
}

#[test]
fn nodes_join_a_running_system_through_a_bootstrap_peer() {
    let _serial = serial();
    let mut c = Cluster::genesis(4);
    c.node_config = "[ms]\nepoch_interval_ms = 1000\n".into();
    c.start_all();
    c.wait_meshed(Duration::from_secs(60));
    let joined: Vec<usize> = (0..3).map(|_| c.join()).collect();
    let waited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for("seven members everywhere", Duration::from_secs(90), || {
            let mut epochs = Vec::new();
            for i in 0..c.nodes.len() {
                let st = c.status(i)?;
                let n = st["members"].as_array().map(Vec::len).unwrap_or(0);
                if n != 7 {
                    return Err(format!("node{i} sees {n} members at epoch {}", st["epoch"]));
                }
                epochs.push((st["epoch"].clone(), st["config_hash"].clone()));
            }
            epochs.dedup();
            if epochs.len() != 1 {
                return Err(format!("nodes differ: {epochs:?}"));
            }
            Ok(())
        })
    }));
    if let Err(e) = waited {
        for i in 0..c.nodes.len() {
            eprintln!("==== node{i}\n{}", c.nodes[i].log());
        }
        std::panic::resume_unwind(e);
    }
    // A joined node answers for the system: its freshness verifies under the genesis MS key.
    let bundle = c.nodes[0].dir.join("node.bundle");
    let out = rampart_ok(&[
        "freshness",
        "--peer",
        &c.nodes[joined[0]].addr,
        "--ms-key",
        s(&bundle),
    ]);
    assert!(out.contains("verified"), "{out}");
    // Someone else's admission is refused with the reason, before anything is fetched.
    let other = c.root.path().join("intruder");
    rampart_ok(&["keygen", "--out", s(&other.join("node.key"))]);
    let err = rampart_fails(&[
        "node",
        "start",
        "--data-dir",
        s(&other.join("data")),
        "--key",
        s(&other.join("node.key")),
        "--admission",
        s(&c.nodes[joined[0]].dir.join("node.admission")),
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--bootstrap",
        &c.nodes[0].addr,
    ]);
    assert!(err.contains("admission is for another node"), "{err}");
    for i in joined {
        assert!(!c.nodes[i].log().contains("panicked"), "node{i} panicked");
    }
}

#[test]
fn a_killed_node_misses_its_probes_and_is_evicted() {
    let _serial = serial();
    let mut c = Cluster::genesis(5);
    c.node_config =
        "[ms]\nepoch_interval_ms = 1000\nprobe_interval_ms = 300\nprobe_misses = 3\n".into();
    c.start_all();
    c.wait_meshed(Duration::from_secs(60));
    let victim = c.status(4).unwrap()["node"].as_str().unwrap().to_string();
    c.kill(4);
    let waited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for(
            "the dead node evicted everywhere",
            Duration::from_secs(60),
            || {
                let mut seen = Vec::new();
                for i in 0..4 {
                    let st = c.status(i)?;
                    let members = st["members"].as_array().cloned().unwrap_or_default();
                    if members.iter().any(|m| m["node"] == victim.as_str()) {
                        return Err(format!(
                            "node{i} still lists the dead node at epoch {}",
                            st["epoch"]
                        ));
                    }
                    seen.push(st["config_hash"].clone());
                }
                seen.dedup();
                if seen.len() == 1 {
                    Ok(())
                } else {
                    Err(format!("configurations differ: {seen:?}"))
                }
            },
        )
    }));
    if let Err(e) = waited {
        for i in 0..5 {
            eprintln!("==== node{i}\n{}", c.nodes[i].log());
        }
        std::panic::resume_unwind(e);
    }
    let log: String = (0..4).map(|i| c.nodes[i].log()).collect();
    assert!(
        log.contains("missed its probes"),
        "no replica reported the dead node"
    );
}

#[test]
fn new_epochs_reach_every_node_by_gossip() {
    let _serial = serial();
    let mut c = Cluster::genesis(5);
    // Pulling configurations is slowed to a crawl: only gossip can be this quick.
    c.node_config =
        "[ms]\nepoch_interval_ms = 1000\n[network]\nexchange_interval_ms = 600000\n".into();
    c.start_all();
    c.wait_meshed(Duration::from_secs(60));
    revoke_new_client(&c, "gossip", 0);
    wait_epoch(&c, 1, Duration::from_secs(30));
    let outside: Vec<usize> = (0..5)
        .filter(|i| !c.nodes[*i].log().contains("starting the MS PBFT replica"))
        .collect();
    assert!(
        !outside.is_empty(),
        "a 5-node system has a node outside the MS group"
    );
    for i in outside {
        let log = c.nodes[i].log();
        assert!(
            log.contains("peer=gossip via"),
            "node{i} did not adopt epoch 1 from gossip:\n{log}"
        );
    }
}

/// Every live node's view once they all agree: (epoch, configuration hash, member ids, MS
/// group).
fn agreed(c: &Cluster, live: &[usize]) -> Result<(u64, String, Vec<String>, Vec<String>), String> {
    let mut views = Vec::new();
    for &i in live {
        let st = c.status(i)?;
        let members: Vec<String> = st["members"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|m| m["node"].as_str().unwrap_or("").to_string())
            .collect();
        let group: Vec<String> = st["members"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter(|m| m["ms"] == true)
            .map(|m| m["node"].as_str().unwrap_or("").to_string())
            .collect();
        views.push((
            st["epoch"].as_u64().unwrap_or(0),
            st["config_hash"].as_str().unwrap_or("").to_string(),
            members,
            group,
        ));
    }
    let first = views[0].clone();
    if views.iter().any(|v| v.1 != first.1) {
        return Err(format!(
            "nodes differ: {:?}",
            views.iter().map(|v| (v.0, v.1.clone())).collect::<Vec<_>>()
        ));
    }
    Ok(first)
}

#[test]
fn seven_nodes_with_joins_a_removal_an_eviction_and_a_rotating_ms() {
    let _serial = serial();
    let mut c = Cluster::genesis(7);
    c.node_config =
        "[ms]\nepoch_interval_ms = 1000\nprobe_interval_ms = 300\nprobe_misses = 3\n".into();
    c.start_all();
    c.wait_meshed(Duration::from_secs(60));
    let ms_key = bootstrap::bundle::read(&c.nodes[0].dir.join("node.bundle"))
        .unwrap()
        .ms_key;
    let mut groups = vec![ms_group(&c)];
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // Three nodes join through a bootstrap peer.
        let joined: Vec<usize> = (0..3).map(|_| c.join()).collect();
        let mut live: Vec<usize> = (0..10).collect();
        let v = wait_for("ten members everywhere", Duration::from_secs(90), || {
            let v = agreed(&c, &live)?;
            if v.2.len() == 10 {
                Ok(v)
            } else {
                Err(format!("{} members", v.2.len()))
            }
        });
        groups.push(v.3.clone());
        // The admin removes one node; another is killed and must be evicted.
        let removed = c.status(1).unwrap()["node"].as_str().unwrap().to_string();
        let admin = c.admin_dir();
        let rm = c.root.path().join("removed.cert");
        rampart_ok(&[
            "admin",
            "--admin-dir",
            s(&admin),
            "remove-node",
            "--node",
            &removed,
            "--out",
            s(&rm),
            "--peer",
            &c.nodes[joined[0]].addr,
        ]);
        let killed = c.status(2).unwrap()["node"].as_str().unwrap().to_string();
        c.kill(2);
        live.retain(|i| *i != 2);
        let v = wait_for(
            "the removal and the eviction everywhere",
            Duration::from_secs(90),
            || {
                let v = agreed(&c, &live)?;
                if v.2.contains(&removed) || v.2.contains(&killed) {
                    Err(format!("epoch {}: {} members", v.0, v.2.len()))
                } else {
                    Ok(v)
                }
            },
        );
        groups.push(v.3.clone());
        // Two more epochs.
        for name in ["late1", "late2"] {
            let before = agreed(&c, &live).unwrap().0;
            revoke_new_client(&c, name, 0);
            let v = wait_for("the next epoch everywhere", Duration::from_secs(60), || {
                let v = agreed(&c, &live)?;
                if v.0 > before {
                    Ok(v)
                } else {
                    Err(format!("still epoch {}", v.0))
                }
            });
            groups.push(v.3.clone());
        }
        // The removed node no longer holds a place; every live node's certificate verifies
        // under the genesis MS key.
        live.retain(|i| *i != 1);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for &i in &live {
            let answer = rt
                .block_on(rampart::net::client::request(
                    &c.nodes[i].addr,
                    overlay::wire::Request::Configuration,
                    Duration::from_secs(5),
                ))
                .unwrap();
            let overlay::wire::Response::Config { config, cert } = answer else {
                panic!("node{i} did not send its configuration");
            };
            cert.verify(&ms_key).unwrap();
            assert_eq!(cert.statement.config_hash, config.hash());
        }
    }));
    if let Err(e) = run {
        if std::env::var("SHOW_LOGS").is_ok() {
            for (i, n) in c.nodes.iter().enumerate() {
                eprintln!("==== node{i}\n{}", n.log());
            }
        }
        std::panic::resume_unwind(e);
    }
    groups.dedup();
    assert!(
        groups.len() >= 3,
        "the MS group should rotate at least twice: {groups:?}"
    );
}
