//! Hostile files, configurations and peers: each gets a clear error naming the file or peer
//! and the reason, a non-zero exit where it is the CLI, and never a panic (issue 2).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bootstrap::admin::{Admin, Notes};
use bootstrap::certfile;
use bootstrap::files::Overwrite;
use overlay::cert::CertBody;
use overlay::crypto::SecretKey;
use overlay::time::Timestamp;
use rampart_tests::cluster::{Cluster, status_of};
use rampart_tests::{free_port, rampart_fails, rampart_ok, wait_for};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// An admin directory and one valid `add` certificate made with the CLI.
fn admin_with_cert(root: &Path) -> (PathBuf, PathBuf) {
    let admin = root.join("admin");
    rampart_ok(&["admin", "--admin-dir", s(&admin), "init"]);
    rampart_ok(&["keygen", "--out", s(&root.join("n.key"))]);
    let cert = root.join("n.cert");
    rampart_ok(&[
        "admin",
        "--admin-dir",
        s(&admin),
        "add-node",
        "--key",
        s(&root.join("n.pub")),
        "--addr",
        "/ip4/127.0.0.1/tcp/1",
        "--out",
        s(&cert),
    ]);
    (admin, cert)
}

fn genesis_with(admin: &Path, cert: &Path, out: &Path) -> String {
    rampart_fails(&[
        "admin",
        "--admin-dir",
        s(admin),
        "genesis",
        "--cert",
        s(cert),
        "--out",
        s(out),
    ])
}

#[test]
fn a_truncated_certificate_is_refused_by_name() {
    let root = tempfile::tempdir().unwrap();
    let (admin, cert) = admin_with_cert(root.path());
    let bytes = std::fs::read(&cert).unwrap();
    let cut = root.path().join("cut.cert");
    std::fs::write(&cut, &bytes[..bytes.len() - 20]).unwrap();
    let err = genesis_with(&admin, &cut, &root.path().join("g"));
    assert!(
        err.contains("cut.cert") && err.contains("not a valid certificate"),
        "{err}"
    );
}

#[test]
fn an_oversized_certificate_is_refused_before_reading() {
    let root = tempfile::tempdir().unwrap();
    let (admin, _) = admin_with_cert(root.path());
    let big = root.path().join("big.cert");
    std::fs::write(&big, vec![b'x'; 1 << 20]).unwrap();
    let err = genesis_with(&admin, &big, &root.path().join("g"));
    assert!(
        err.contains("big.cert") && err.contains("bytes allowed"),
        "{err}"
    );
}

#[test]
fn a_tampered_certificate_has_a_bad_signature() {
    let root = tempfile::tempdir().unwrap();
    let (admin, cert) = admin_with_cert(root.path());
    let mut bytes = std::fs::read(&cert).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    let bad = root.path().join("bad.cert");
    std::fs::write(&bad, &bytes).unwrap();
    let err = genesis_with(&admin, &bad, &root.path().join("g"));
    assert!(
        err.contains("bad.cert") && err.contains("bad signature"),
        "{err}"
    );
}

#[test]
fn an_expired_certificate_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let (admin_dir, _) = admin_with_cert(root.path());
    let mut admin = Admin::open(&admin_dir).unwrap();
    let node = SecretKey::generate(&mut rand::rngs::OsRng).public();
    let body = CertBody::Add {
        node,
        addrs: vec!["/ip4/127.0.0.1/tcp/2".into()],
    };
    let cert = admin.issue(body, Timestamp(1_000), Timestamp(2_000), Notes::default());
    let old = root.path().join("old.cert");
    certfile::write(&old, &cert, Overwrite::Refuse).unwrap();
    let err = genesis_with(&admin_dir, &old, &root.path().join("g"));
    assert!(err.contains("old.cert") && err.contains("expired"), "{err}");
}

#[test]
fn a_certificate_from_another_authority_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let (admin, _) = admin_with_cert(root.path());
    let other = tempfile::tempdir().unwrap();
    let (_, foreign) = admin_with_cert(other.path());
    let err = genesis_with(&admin, &foreign, &root.path().join("g"));
    assert!(
        err.contains("n.cert") && err.contains("wrong authority"),
        "{err}"
    );
}

#[test]
fn a_file_of_another_kind_says_what_it_is() {
    let root = tempfile::tempdir().unwrap();
    let (admin, _) = admin_with_cert(root.path());
    let err = genesis_with(&admin, &root.path().join("n.key"), &root.path().join("g"));
    assert!(
        err.contains("n.key") && err.contains("rampart-secret-key"),
        "{err}"
    );
    let err = rampart_fails(&["inspect", s(&root.path().join("n.pub"))]);
    assert!(err.contains("n.pub"), "{err}");
}

#[test]
fn genesis_with_fewer_than_four_nodes_says_why() {
    let root = tempfile::tempdir().unwrap();
    let (admin, cert) = admin_with_cert(root.path());
    let err = genesis_with(&admin, &cert, &root.path().join("g"));
    assert!(
        err.contains("1 nodes cannot tolerate f=1: that needs 4 nodes"),
        "{err}"
    );
    let err = rampart_fails(&[
        "admin",
        "--admin-dir",
        s(&admin),
        "genesis",
        "--cert",
        s(&cert),
        "--f",
        "0",
        "--f-ms",
        "0",
        "--out",
        s(&root.path().join("g")),
    ]);
    assert!(err.contains("f_ms must be at least 1"), "{err}");
}

#[test]
fn secrets_are_never_overwritten() {
    let root = tempfile::tempdir().unwrap();
    let (admin, _) = admin_with_cert(root.path());
    let err = rampart_fails(&["admin", "--admin-dir", s(&admin), "init"]);
    assert!(
        err.contains("authority.key") && err.contains("refusing to overwrite"),
        "{err}"
    );
    let err = rampart_fails(&["keygen", "--out", s(&root.path().join("n.key"))]);
    assert!(
        err.contains("n.key") && err.contains("refusing to overwrite"),
        "{err}"
    );
}

#[test]
fn a_config_file_with_an_unknown_or_wrongly_typed_field_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let cfg = root.path().join("node.toml");
    std::fs::write(&cfg, "listen = \"/ip4/127.0.0.1/tcp/1\"\nlisen = 3\n").unwrap();
    let err = rampart_fails(&["node", "start", "--config", s(&cfg)]);
    assert!(err.contains("node.toml") && err.contains("lisen"), "{err}");
    std::fs::write(&cfg, "bootstrap = \"/ip4/127.0.0.1/tcp/1\"\n").unwrap();
    let err = rampart_fails(&["node", "start", "--config", s(&cfg)]);
    assert!(
        err.contains("node.toml") && err.contains("bootstrap"),
        "{err}"
    );
}

#[test]
fn a_node_refuses_a_bundle_made_for_another_node_or_a_missing_key() {
    let c = Cluster::genesis(4);
    let (n0, n1) = (&c.nodes[0].dir, &c.nodes[1].dir);
    let err = rampart_fails(&[
        "node",
        "start",
        "--data-dir",
        s(&n0.join("data")),
        "--key",
        s(&n0.join("node.key")),
        "--genesis",
        s(&n1.join("node.bundle")),
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
    ]);
    assert!(err.contains("this bundle is for node"), "{err}");
    let err = rampart_fails(&[
        "node",
        "start",
        "--data-dir",
        s(&n0.join("data2")),
        "--key",
        s(&n0.join("missing.key")),
    ]);
    assert!(
        err.contains("missing.key") && err.contains("rampart keygen"),
        "{err}"
    );
}

#[test]
fn status_of_an_unreachable_peer_is_a_clear_error() {
    let port = free_port();
    let err = rampart_fails(&[
        "status",
        "--peer",
        &format!("/ip4/127.0.0.1/tcp/{port}"),
        "--timeout",
        "5s",
    ]);
    assert!(
        err.contains("cannot reach") && err.contains(&port.to_string()),
        "{err}"
    );
    let err = rampart_fails(&["status", "--peer", "127.0.0.1:7700"]);
    assert!(err.contains("not a multiaddr"), "{err}");
}

#[test]
fn status_against_a_peer_that_speaks_garbage_fails_cleanly() {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        if let Ok((mut sock, _)) = listener.accept() {
            let _ = sock.write_all(&[0xde; 4096]);
            let mut buf = [0u8; 1024];
            let _ = sock.read(&mut buf);
        }
    });
    let err = rampart_fails(&[
        "status",
        "--peer",
        &format!("/ip4/127.0.0.1/tcp/{port}"),
        "--timeout",
        "5s",
    ]);
    assert!(err.contains(&port.to_string()), "{err}");
    server.join().unwrap();
}

#[test]
fn a_node_survives_garbage_and_names_its_unreachable_bootstrap_peer() {
    let mut c = Cluster::genesis(4);
    let dead = format!("/ip4/127.0.0.1/tcp/{}", free_port());
    // Start one node alone, with a bootstrap peer nobody listens on.
    let node = &c.nodes[0];
    let log = std::fs::File::create(node.dir.join("node.log")).unwrap();
    let child = std::process::Command::new(rampart_tests::rampart_bin())
        .args([
            "node",
            "start",
            "--data-dir",
            s(&node.dir.join("data")),
            "--key",
            s(&node.dir.join("node.key")),
        ])
        .args([
            "--genesis",
            s(&node.dir.join("node.bundle")),
            "--listen",
            &node.addr,
            "--bootstrap",
            &dead,
        ])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    c.nodes[0].proc = Some(child);
    wait_for(
        "a warning naming the dead bootstrap peer",
        Duration::from_secs(30),
        || {
            let log = c.nodes[0].log();
            if log.contains("cannot reach peer") && log.contains(&dead) {
                Ok(())
            } else {
                Err(log)
            }
        },
    );
    // Garbage on the node's port: the handshake fails, the node logs it and carries on.
    let port: u16 = node_port(&c.nodes[0].addr);
    for _ in 0..3 {
        let mut sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let _ = sock.write_all(b"GET / HTTP/1.1\r\n\r\n\x00\xff\xfe garbage garbage");
    }
    wait_for(
        "the node to log the refused handshakes",
        Duration::from_secs(30),
        || {
            let log = c.nodes[0].log();
            if log.contains("refused incoming connection") {
                Ok(())
            } else {
                Err(log)
            }
        },
    );
    let status = wait_for("status after garbage", Duration::from_secs(30), || {
        status_of(&c.nodes[0].addr)
    });
    assert_eq!(status["epoch"], 0);
    assert!(!c.nodes[0].log().contains("panicked"));
}

fn node_port(addr: &str) -> u16 {
    addr.rsplit('/').next().unwrap().parse().unwrap()
}

#[test]
fn a_bare_add_certificate_as_admission_says_how_to_get_an_admission() {
    let root = tempfile::tempdir().unwrap();
    let (_, cert) = admin_with_cert(root.path());
    let err = rampart_fails(&[
        "node",
        "start",
        "--data-dir",
        s(&root.path().join("data")),
        "--key",
        s(&root.path().join("n.key")),
        "--admission",
        s(&cert),
        "--bootstrap",
        "/ip4/127.0.0.1/tcp/1",
    ]);
    assert!(
        err.contains("n.cert")
            && err.contains("a bare certificate")
            && err.contains("add-node")
            && err.contains("--admission <file>"),
        "{err}"
    );
}

#[test]
fn object_commands_say_what_is_missing_or_unreachable() {
    let root = tempfile::tempdir().unwrap();
    let admin = root.path().join("admin");
    rampart_ok(&["admin", "--admin-dir", s(&admin), "init"]);
    let cred = root.path().join("app.cred");
    rampart_ok(&[
        "admin",
        "--admin-dir",
        s(&admin),
        "add-client",
        "--name",
        "app",
        "--caps",
        "put,get",
        "--out",
        s(&cred),
    ]);
    let err = rampart_fails(&["get", "k", "--peer", "/ip4/127.0.0.1/tcp/1"]);
    assert!(err.contains("no credential"), "{err}");
    let err = rampart_fails(&["get", "k", "--credential", s(&cred)]);
    assert!(err.contains("no MS key"), "{err}");
    let ms_key = s(&admin.join("authority.pub")).to_string();
    let err = rampart_fails(&["get", "k", "--credential", s(&cred), "--ms-key", &ms_key]);
    assert!(err.contains("no bootstrap peer"), "{err}");
    let err = rampart_fails(&[
        "get",
        "k",
        "--credential",
        s(&cred),
        "--ms-key",
        s(&root.path().join("missing.pub")),
        "--peer",
        "/ip4/127.0.0.1/tcp/1",
    ]);
    assert!(err.contains("no such file"), "{err}");
    // Nobody listens there: the client says so at once instead of waiting out its timeout.
    let port = free_port().to_string();
    let peer = format!("/ip4/127.0.0.1/tcp/{port}");
    let err = rampart_fails(&[
        "get",
        "k",
        "--credential",
        s(&cred),
        "--ms-key",
        &ms_key,
        "--peer",
        &peer,
    ]);
    assert!(err.contains("cannot reach any bootstrap peer"), "{err}");
    // A node key is not a credential.
    let err = rampart_fails(&[
        "get",
        "k",
        "--credential",
        s(&admin.join("authority.key")),
        "--ms-key",
        &ms_key,
        "--peer",
        &peer,
    ]);
    assert!(err.contains("add-client"), "{err}");
    let err = rampart_fails(&["get-content", "nothex", "--client", s(&cred)]);
    assert!(err.contains("not an object id"), "{err}");
}
