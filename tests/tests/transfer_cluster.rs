//! State transfer on real processes (issue 6): eight nodes hold 10,000 objects under steady
//! client load while four nodes join, two are removed and one is killed (and evicted by the
//! MS). Afterwards every object reads back at its latest version, no node holds an object of
//! a range it does not own, and the objects per node are within ±25% of the fair share.
//! Before any final read, every replica of every object's group is read in its own store: each
//! holds at least the latest acknowledged write (issue 15).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actors::db::Db;
use actors::dbqs::RocksStore;
use futures::{StreamExt, stream};
use overlay::dbqs::object::keyed_id;
use overlay::id::Hash;
use overlay::ring::{Range, RangeSet, Ring};
use overlay::transfer::page::ListRequest;
use rampart::client::{Client, ClientOptions};
use rampart_tests::audit;
use rampart_tests::cluster::Cluster;
use rampart_tests::{rampart_ok, wait_for};

const OBJECTS: usize = 10_000;
/// Keys the load keeps rewriting during the churn.
const HOT: usize = 200;

fn value(i: usize, round: u64) -> Vec<u8> {
    format!("object {i} round {round} ")
        .repeat(1 + i % 7)
        .into_bytes()
}

/// The round a value of [`value`] was written in.
fn round_of(v: &[u8]) -> Option<u64> {
    String::from_utf8_lossy(v)
        .split(" round ")
        .nth(1)?
        .split(' ')
        .next()?
        .parse()
        .ok()
}

fn s(p: &std::path::Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The latest acknowledged round of each key.
type Latest = Arc<Mutex<BTreeMap<usize, u64>>>;

async fn write_all(client: &Client) {
    let results: Vec<_> = stream::iter(0..OBJECTS)
        .map(|i| async move { client.put(format!("k{i}").as_bytes(), &value(i, 0)).await })
        .buffer_unordered(32)
        .collect()
        .await;
    for r in results {
        r.expect("initial write");
    }
}

/// Rewrites its share of the hot keys and reads random ones until `stop`; a read must never
/// return an older round than one acknowledged before it started.
async fn load(client: Arc<Client>, latest: Latest, stop: Arc<AtomicBool>, who: usize) -> u64 {
    let mut ops = 0u64;
    let mut round = 1u64;
    while !stop.load(Ordering::Relaxed) {
        // Each hot key has one writer, so its acknowledged rounds follow its versions
        // (concurrent writers of one key are ordered by version, not by round).
        let i = 4 * ((who * 7919 + round as usize * 31) % (HOT / 4)) + who;
        let r = round * 16 + who as u64;
        if client
            .put(format!("k{i}").as_bytes(), &value(i, r))
            .await
            .is_ok()
        {
            let mut l = latest.lock().expect("lock");
            let e = l.entry(i).or_insert(0);
            *e = (*e).max(r);
        }
        let j = (who * 104_729 + round as usize * 17) % OBJECTS;
        let floor = latest.lock().expect("lock").get(&j).copied().unwrap_or(0);
        if let Ok(got) = client.get(format!("k{j}").as_bytes()).await {
            let got = got.expect("an object never disappears");
            let seen = round_of(&got).expect("a value this test wrote");
            assert!(
                seen >= floor,
                "k{j}: read round {seen} after round {floor} was acknowledged"
            );
        }
        ops += 2;
        round += 1;
    }
    ops
}

fn members(c: &Cluster, i: usize) -> Result<Vec<String>, String> {
    let st = c.status(i)?;
    Ok(st["members"]
        .as_array()
        .ok_or("no members")?
        .iter()
        .filter_map(|m| m["node"].as_str().map(str::to_string))
        .collect())
}

fn ms_group(c: &Cluster) -> Vec<String> {
    let st = c.status(0).expect("node0 answers");
    st["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter(|m| m["ms"] == true)
        .filter_map(|m| m["node"].as_str().map(str::to_string))
        .collect()
}

/// Every object id node `dir`'s store holds (read from rocksdb after the node stopped).
fn held(dir: &std::path::Path) -> Vec<Hash> {
    let store = RocksStore::new(Db::open(&dir.join("data").join("db"), false).expect("open db"));
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .page(&ListRequest {
                range: Range::full(),
                after,
                limit: 1024,
            })
            .expect("list");
        out.extend(page.entries.iter().map(|l| l.id));
        if page.complete {
            return out;
        }
        after = page.entries.last().map(|l| l.id);
    }
}

#[test]
fn objects_follow_their_ranges_through_joins_removals_and_a_crash() {
    let mut c = Cluster::genesis(8);
    c.node_config = "[ms]\nepoch_interval_ms = 1000\nprobe_interval_ms = 500\nprobe_misses = 4\n\
                     [transfer]\nrate_mib_s = 0\n"
        .into();
    c.start_all();
    c.wait_meshed(Duration::from_secs(90));
    let file = c.client("app", "put,get", "30d");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let opts = ClientOptions::from_client_file(&file).expect("client file");
    let client = Arc::new(rt.block_on(Client::connect(opts)).expect("connect"));
    let started = std::time::Instant::now();
    rt.block_on(write_all(&client));
    eprintln!("{OBJECTS} objects written in {:.1?}", started.elapsed());

    let latest: Latest = Arc::new(Mutex::new(BTreeMap::new()));
    let stop = Arc::new(AtomicBool::new(false));
    // Client futures are not Send: each loader runs on its own thread and runtime.
    let loaders: Vec<_> = (0..4)
        .map(|w| {
            let (latest, stop, file) = (latest.clone(), stop.clone(), file.clone());
            std::thread::spawn(move || {
                let rt = tokio::runtime::Runtime::new().expect("runtime");
                let opts = ClientOptions::from_client_file(&file).expect("client file");
                let client = Arc::new(rt.block_on(Client::connect(opts)).expect("connect"));
                rt.block_on(load(client, latest, stop, w))
            })
        })
        .collect();

    // Four nodes join.
    for _ in 0..4 {
        c.join();
    }
    wait_for("12 members everywhere", Duration::from_secs(120), || {
        for i in 0..c.nodes.len() {
            let m = members(&c, i)?;
            if m.len() != 12 {
                return Err(format!("node{i} lists {} members", m.len()));
            }
        }
        Ok(())
    });
    eprintln!("4 joined after {:.1?}", started.elapsed());

    // Two original nodes outside the MS group are removed by the admin, one is killed.
    let ms = ms_group(&c);
    let ids = members(&c, 0).expect("members");
    let mut outside: Vec<usize> = (1..8)
        .filter(|i| {
            let st = c.status(*i).expect("status");
            !ms.contains(&st["node"].as_str().unwrap_or_default().to_string())
        })
        .collect();
    assert!(
        outside.len() >= 3,
        "need 3 nodes outside the MS group: {outside:?}"
    );
    outside.truncate(3);
    let node_id = |i: usize| {
        c.status(i).expect("status")["node"]
            .as_str()
            .expect("id")
            .to_string()
    };
    let admin = c.admin_dir();
    for &i in &outside[..2] {
        let id = node_id(i);
        assert!(ids.contains(&id));
        let out = rampart_ok(&[
            "admin",
            "--admin-dir",
            s(&admin),
            "remove-node",
            "--node",
            &id,
            "--out",
            s(&c.root.path().join(format!("remove{i}.cert"))),
            "--peer",
            &c.nodes[0].addr,
        ]);
        assert!(out.contains("queued"), "{out}");
    }
    let killed = outside[2];
    c.kill(killed);
    let live: Vec<usize> = (0..c.nodes.len()).filter(|i| *i != killed).collect();
    let staying: Vec<usize> = live
        .iter()
        .copied()
        .filter(|i| !outside[..2].contains(i))
        .collect();

    // Every staying node sees 9 members, has fetched everything it gained and holds nothing
    // it does not own; removed nodes hold nothing.
    let settled = wait_for(
        "9 members, transfers finished, stray ranges deleted",
        Duration::from_secs(300),
        || {
            let mut epoch = None;
            for &i in &live {
                let st = c.status(i)?;
                let t = &st["store"]["transfer"];
                let n = st["members"].as_array().map_or(0, Vec::len);
                if staying.contains(&i) && n != 9 {
                    return Err(format!("node{i} lists {n} members"));
                }
                if staying.contains(&i) {
                    if epoch.is_some_and(|e| e != st["epoch"]) {
                        return Err(format!("node{i} is in another epoch"));
                    }
                    epoch = Some(st["epoch"].clone());
                }
                if t["pending_ranges"] != 0 || t["waiting"] != false {
                    return Err(format!("node{i} still transferring: {t}"));
                }
                if t["retained_permille"] != 0 {
                    return Err(format!("node{i} still holds ranges it lost: {t}"));
                }
            }
            Ok(epoch)
        },
    );
    eprintln!(
        "settled at epoch {settled:?} after {:.1?}",
        started.elapsed()
    );
    stop.store(true, Ordering::Relaxed);
    let mut ops = 0;
    for l in loaders {
        ops += l.join().expect("load thread");
    }
    eprintln!("{ops} operations of load during the churn");
    let latest = latest.lock().expect("lock").clone();

    // Every replica of every object's group, in its own store, before any read writes
    // back: at least the latest acknowledged round (issue 15's per-replica audit).
    let config = audit::config_of(&c, staying[0]).expect("configuration");
    let owner = client.owner();
    let ids: Vec<Hash> = (0..OBJECTS)
        .map(|i| keyed_id(&owner, format!("k{i}").as_bytes()))
        .collect();
    let copies_held = audit::replicas_hold(&c, &config, &ids, &[]).expect("audit");
    let mut copies = 0;
    for (i, replicas) in copies_held.iter().enumerate() {
        let want = latest.get(&i).copied().unwrap_or(0);
        assert_eq!(replicas.len(), 4, "k{i}: a group of 4");
        for h in replicas {
            let round = h
                .version
                .as_ref()
                .and_then(audit::inline_value)
                .and_then(|b| round_of(&b));
            assert!(
                round.is_some_and(|r| r >= want),
                "k{i}: node{} holds round {round:?}, latest acknowledged {want}",
                h.node
            );
            copies += 1;
        }
    }
    eprintln!("audit: {copies} replica copies hold their latest acknowledged round");

    // Every object at its latest acknowledged version.
    let results: Vec<_> = rt.block_on(
        stream::iter(0..OBJECTS)
            .map(|i| {
                let client = client.clone();
                async move { (i, client.get(format!("k{i}").as_bytes()).await) }
            })
            .buffer_unordered(32)
            .collect(),
    );
    for (i, r) in results {
        let got = r.expect("read").expect("present");
        let round = round_of(&got).expect("round");
        let want = latest.get(&i).copied().unwrap_or(0);
        assert!(
            round >= want,
            "k{i}: round {round}, latest acknowledged {want}"
        );
        assert_eq!(got, value(i, round), "k{i}");
    }
    let mut summary = String::new();
    for i in 0..c.nodes.len() {
        let t = c.status(i).map(|s| s["store"]["transfer"].clone());
        summary.push_str(&format!("node{i}: {t:?}\n"));
    }
    eprintln!("{summary}");

    // Stop everything and look at each store directly.
    for i in 0..c.nodes.len() {
        c.kill(i);
    }
    assert_eq!(config.members.len(), 9);
    let ring = Ring::of(&config);
    let mut counts = Vec::new();
    for &i in &live {
        let dir = &c.nodes[i].dir;
        let ids = held(dir);
        let me = config
            .members
            .iter()
            .map(|m| m.id())
            .find(|id| Ok(*id) == audit::node_id(dir));
        let owned = me.map_or(RangeSet::new(), |me| RangeSet::of_all(&ring.ranges_of(&me)));
        let stray = ids.iter().filter(|id| !owned.contains(id)).count();
        assert_eq!(stray, 0, "node{i} holds {stray} objects it does not own");
        if staying.contains(&i) {
            counts.push((i, ids.len()));
        }
    }
    let total_keys = OBJECTS; // the load rewrites existing keys only
    let fair = (total_keys * ring.group_size()) as f64 / 9.0;
    eprintln!("objects per node: {counts:?}, fair share {fair:.0}");
    for (i, n) in counts {
        let dev = (n as f64 - fair) / fair;
        assert!(
            dev.abs() <= 0.25,
            "node{i} holds {n}, {:.0}% off the fair share",
            dev * 100.0
        );
    }
}
