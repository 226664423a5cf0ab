//! dBQS on four real `rampart node` processes (f = 1), used as an app would: objects written
//! through the client library and the CLI, a replica killed, a replica wiped and brought back,
//! a 100 MiB object round-tripping (issue 5's real-process tests).

use std::time::Duration;

use futures::{StreamExt, stream};
use rampart::client::{Client, ClientOptions};
use rampart_tests::cluster::Cluster;
use rampart_tests::{rampart_fails, rampart_ok};

const OBJECTS: usize = 1000;

fn value(i: usize) -> Vec<u8> {
    format!("object {i} ").repeat(1 + i % 50).into_bytes()
}

async fn write_all(client: &Client) {
    let results: Vec<_> = stream::iter(0..OBJECTS)
        .map(|i| async move { client.put(format!("k{i}").as_bytes(), &value(i)).await })
        .buffer_unordered(16)
        .collect()
        .await;
    for r in results {
        r.expect("write");
    }
}

async fn read_all(client: &Client) {
    let results: Vec<_> = stream::iter(0..OBJECTS)
        .map(|i| async move { (i, client.get(format!("k{i}").as_bytes()).await) })
        .buffer_unordered(16)
        .collect()
        .await;
    for (i, r) in results {
        assert_eq!(r.expect("read"), Some(value(i)), "object k{i}");
    }
}

#[test]
fn objects_survive_a_killed_replica_and_a_wiped_one_catches_up_by_write_back() {
    let mut c = Cluster::genesis(4);
    c.start_all();
    c.wait_meshed(Duration::from_secs(60));
    let file = c.client("app", "put,get", "30d");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let client = rt
        .block_on(Client::connect(
            ClientOptions::from_client_file(&file).expect("client file"),
        ))
        .expect("connect");
    rt.block_on(write_all(&client));
    // A write returns once 2f+1 replicas hold it, but it was sent to all four: each gets it.
    rampart_tests::wait_for(
        "every replica holds every object",
        Duration::from_secs(30),
        || {
            for i in 0..4 {
                let st = c.status(i)?;
                let keyed = st["store"]["keyed"].as_u64().unwrap_or(0);
                if keyed < OBJECTS as u64 {
                    return Err(format!("node{i} holds {keyed}"));
                }
            }
            Ok(())
        },
    );

    // One replica dies: every object still reads back from the other three.
    c.kill(3);
    rt.block_on(read_all(&client));

    // Its data directory is wiped and it comes back empty; another replica dies, so every
    // quorum now needs the wiped one, and reads succeed only by writing back to it.
    std::fs::remove_dir_all(c.nodes[3].dir.join("data")).expect("wipe node3");
    c.start(3);
    c.kill(2);
    rt.block_on(read_all(&client));
    let st = c.status(3).expect("node3 answers");
    let keyed = st["store"]["keyed"].as_u64().expect("store status");
    println!(
        "node3 holds ~{keyed} keyed objects after the reads: {}",
        st["store"]
    );
    assert!(
        keyed as usize >= OBJECTS * 9 / 10,
        "the wiped replica holds ~{keyed} objects after every object was read"
    );

    // A delete is a tombstone: the object reads as absent.
    rt.block_on(client.delete(b"k7")).expect("delete");
    assert_eq!(rt.block_on(client.get(b"k7")).expect("read"), None);
}

#[test]
fn the_cli_stores_and_reads_keyed_and_content_objects_including_100_mib() {
    let mut c = Cluster::genesis(4);
    c.start_all();
    c.wait_meshed(Duration::from_secs(60));
    let file = c.client("cli", "put,get", "30d");
    let client = file.to_str().expect("utf-8");
    let dir = c.root.path().to_path_buf();

    let small = dir.join("small.txt");
    std::fs::write(&small, b"hello rampart").expect("write");
    let out = rampart_ok(&[
        "put",
        "greeting",
        small.to_str().unwrap(),
        "--client",
        client,
    ]);
    assert!(out.contains("version 1"), "{out}");
    let got = rampart_ok(&["get", "greeting", "--client", client]);
    assert_eq!(got, "hello rampart");

    // 100 MiB of incompressible bytes, chunked and streamed both ways.
    let big = dir.join("big.bin");
    let mut bytes = vec![0u8; 100 * 1024 * 1024];
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for chunk in bytes.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    std::fs::write(&big, &bytes).expect("write big");
    rampart_ok(&["put", "big", big.to_str().unwrap(), "--client", client]);
    let back = dir.join("big.back");
    rampart_ok(&[
        "get",
        "big",
        "-o",
        back.to_str().unwrap(),
        "--client",
        client,
    ]);
    assert!(
        std::fs::read(&back).expect("read back") == bytes,
        "100 MiB differ"
    );

    let id = rampart_ok(&["put-content", big.to_str().unwrap(), "--client", client]);
    let id = id.trim();
    assert_eq!(id.len(), 64, "{id}");
    let back2 = dir.join("big.content");
    rampart_ok(&[
        "get-content",
        id,
        "-o",
        back2.to_str().unwrap(),
        "--client",
        client,
    ]);
    assert!(
        std::fs::read(&back2).expect("read back") == bytes,
        "content differs"
    );

    rampart_ok(&["rm", "greeting", "--client", client]);
    let gone = dir.join("greeting.out");
    let err = rampart_fails(&[
        "get",
        "greeting",
        "-o",
        gone.to_str().unwrap(),
        "--client",
        client,
    ]);
    assert!(err.contains("no such object"), "{err}");
    assert!(!gone.exists(), "a failed get leaves no output file");
    assert!(!dir.join("greeting.out.partial").exists());
}
