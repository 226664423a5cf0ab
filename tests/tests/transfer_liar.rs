//! An old replica that makes objects up (issue 15), on real processes: node 0 runs
//! `--byzantine invent`, listing chunks and keyed objects it invented beside what it holds and
//! serving them with proofs signed under an authority of its own. Objects are written, a
//! fifth node joins and fetches its ranges from groups that include the liar. The new node
//! must end holding none of the invented objects (read from its rocksdb after it stopped),
//! report what it did not take in its status, and every written object must read back.

use std::time::Duration;

use actors::db::Db;
use actors::dbqs::RocksStore;
use overlay::dbqs::fixture::{MADE_UP, made_up_content, made_up_version};
use overlay::id::Hash;
use overlay::ring::Range;
use overlay::transfer::page::ListRequest;
use rampart::client::{Client, ClientOptions};
use rampart_tests::cluster::Cluster;
use rampart_tests::wait_for;

const OBJECTS: usize = 200;
const CONTENT: usize = 20;

/// Every object id the node in `dir` holds (read from rocksdb after the node stopped).
fn held(dir: &std::path::Path) -> Vec<Hash> {
    let store = RocksStore::new(Db::open(&dir.join("data").join("db"), false).expect("open db"));
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let req = ListRequest {
            range: Range::full(),
            after,
            limit: 1024,
        };
        let page = store.page(&req).expect("list");
        out.extend(page.entries.iter().map(|l| l.id));
        if page.complete {
            return out;
        }
        after = page.entries.last().map(|l| l.id);
    }
}

fn transfer(c: &Cluster, i: usize) -> Result<serde_json::Value, String> {
    Ok(c.status(i)?["store"]["transfer"].clone())
}

#[test]
fn objects_an_old_replica_made_up_never_reach_a_new_replica() {
    let mut c = Cluster::genesis(4);
    c.nodes[0].extra = vec!["--byzantine".into(), "invent".into()];
    c.node_config = "[ms]\nepoch_interval_ms = 1000\n[transfer]\nrate_mib_s = 0\n".into();
    c.start_all();
    c.wait_meshed(Duration::from_secs(90));
    let file = c.client("app", "put,get", "30d");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let opts = ClientOptions::from_client_file(&file).expect("client file");
    let client = rt.block_on(Client::connect(opts)).expect("connect");
    let mut contents = Vec::new();
    rt.block_on(async {
        for i in 0..OBJECTS {
            let v = format!("value {i}").into_bytes();
            client
                .put(format!("k{i}").as_bytes(), &v)
                .await
                .expect("put");
        }
        for i in 0..CONTENT {
            let b = format!("content {i}").into_bytes();
            contents.push((client.put_content(&b).await.expect("put content"), b));
        }
    });

    let new = c.join();
    wait_for(
        "the new node a member with its ranges fetched",
        Duration::from_secs(180),
        || {
            let t = transfer(&c, new)?;
            let members = c.status(new)?["members"].as_array().map_or(0, Vec::len);
            match (
                members,
                t["pending_ranges"].as_u64(),
                t["ranges_finished"].as_u64(),
            ) {
                (5, Some(0), Some(n)) if n > 0 => Ok(()),
                _ => Err(format!("{members} members, transfer {t}")),
            }
        },
    );
    let t = transfer(&c, new).expect("status");
    eprintln!("new node's transfer: {t}");
    let not_taken =
        t["unheld_entries"].as_u64().unwrap_or(0) + t["refused_answers"].as_u64().unwrap_or(0);
    assert!(
        not_taken > 0,
        "the liar's inventions were not seen refused: {t}"
    );
    rt.block_on(async {
        for i in 0..OBJECTS {
            let got = client.get(format!("k{i}").as_bytes()).await.expect("get");
            assert_eq!(got, Some(format!("value {i}").into_bytes()), "k{i}");
        }
        for (id, b) in &contents {
            let got = client.get_content(*id).await.expect("get content");
            assert_eq!(got.as_ref(), Some(b), "content {id:?}");
        }
    });

    c.kill(new);
    let ids = held(&c.nodes[new].dir);
    assert!(!ids.is_empty(), "the new node holds nothing");
    let made_up: Vec<Hash> = (0..MADE_UP)
        .flat_map(|k| [made_up_content(k).id(), made_up_version(k).id()])
        .collect();
    let taken: Vec<&Hash> = ids.iter().filter(|id| made_up.contains(id)).collect();
    assert!(
        taken.is_empty(),
        "the new node stored made-up objects: {taken:?}"
    );
}
