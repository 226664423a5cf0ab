//! The client lifecycle on a real cluster, as an admin and an app go through it (issue 7): a
//! registered client stores and reads; one without `put` cannot store; a client renewed
//! just before its expiry keeps working after it; a revoked client is refused by every
//! replica from the next epoch on; a client that signs two values for one version is
//! revoked with no admin involved; analysts see a node's status with an `analyze`
//! credential, from this host and (with a token) over HTTP from another address.

use std::path::Path;
use std::time::Duration;

use overlay::crypto::SecretKey;
use overlay::dbqs::blob::Blob;
use overlay::dbqs::object::Version;
use overlay::dbqs::replica::{Refusal, Reply, Request};
use overlay::dbqs::wire::StoreRequest;
use overlay::id::{ClientId, Epoch};
use rampart::net::client::store_request;
use rampart_tests::cluster::{Cluster, status_of};
use rampart_tests::{http_request, rampart, rampart_fails, rampart_ok, wait_for};

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

fn epoch_of(addr: &str) -> u64 {
    status_of(addr).expect("status")["epoch"]
        .as_u64()
        .expect("epoch")
}

/// Sends `req` to the replica at `addr` in its current epoch, again while the epochs move.
fn send(addr: &str, key: &SecretKey, cred: &overlay::cert::Certificate, req: Request) -> Reply {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    wait_for(
        "an answer outside an epoch change",
        Duration::from_secs(30),
        || {
            let msg = StoreRequest {
                epoch: Epoch(epoch_of(addr)),
                credential: cred.clone(),
                req: req.clone(),
            };
            let reply = rt
                .block_on(store_request(addr, key, msg, Duration::from_secs(10)))
                .map_err(|e| e.to_string())?
                .reply;
            match reply {
                Reply::Refused(r) if r.is_transient() => Err(format!("{r}")),
                other => Ok(other),
            }
        },
    )
}

fn http_get(addr: &str, path: &str, token: Option<&str>) -> (u16, String) {
    rampart_tests::http_get(addr, path, token).expect("an HTTP answer")
}

/// This host's address on its first non-loopback interface, if it has one (a UDP connect
/// sends nothing; it only picks the route).
fn outside_address() -> Option<std::net::IpAddr> {
    let sock = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    sock.connect("10.254.254.254:9").ok()?;
    let ip = sock.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

fn revoked_everywhere(c: &Cluster, client: &ClientId) -> Result<(), String> {
    for n in &c.nodes {
        let st = status_of(&n.addr)?;
        let listed = st["revoked"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x["client"] == client.0.to_hex()));
        if !listed {
            return Err(format!("{} does not list it yet", n.addr));
        }
    }
    Ok(())
}

#[test]
fn clients_are_registered_refused_renewed_revoked_and_shut_out_and_analysts_see_status() {
    let mut c = Cluster::genesis(4);
    // The analyser listens on every address and answers to this host's outside address.
    let outside = outside_address().map_or(String::new(), |ip| ip.to_string());
    c.node_config = format!(
        "[ms]\nepoch_interval_ms = 1500\n[http]\nlisten = \"0.0.0.0:0\"\nhosts = [\"{outside}\"]\n"
    );
    c.start_all();
    c.wait_meshed(Duration::from_secs(90));
    let admin = c.admin_dir();
    let a = s(&admin);
    let root = c.root.path().to_path_buf();
    let src = root.join("value.txt");
    std::fs::write(&src, b"first").expect("write");

    // A registered client stores and reads.
    let app = c.client("app", "put,get", "30d");
    rampart_ok(&["put", "doc", s(&src), "--client", s(&app)]);
    assert_eq!(rampart_ok(&["get", "doc", "--client", s(&app)]), "first");

    // One without `put` cannot store, and the error says why.
    let reader = c.client("reader", "get", "30d");
    let err = rampart_fails(&["put", "doc", s(&src), "--client", s(&reader)]);
    assert!(err.contains("does not grant `put`"), "{err}");
    let err = rampart_fails(&["get", "doc", "--client", s(&reader)]);
    assert!(
        err.contains("no such object"),
        "the put changed nothing: {err}"
    );

    // Renewed just before it expires: same key, and it goes on working after the old expiry.
    let brief = c.client("brief", "put,get", "20s");
    rampart_ok(&["put", "note", s(&src), "--client", s(&brief)]);
    let renewed_cred = root.join("clients/brief-renewed.cred");
    let out = rampart_ok(&[
        "admin",
        "--admin-dir",
        a,
        "renew-client",
        "--client",
        "brief",
        "--expires",
        "30d",
        "--out",
        s(&renewed_cred),
    ]);
    assert!(out.contains("renewed"), "{out}");
    let old = bootstrap::credential::read(&root.join("clients/brief.cred")).expect("old");
    let new = bootstrap::credential::read(&renewed_cred).expect("renewed");
    assert_eq!(old.key.public(), new.key.public(), "renewal keeps the key");
    let renewed = c.client_file("brief-renewed", &renewed_cred);
    let why = wait_for(
        "the old credential to expire",
        Duration::from_secs(60),
        || {
            let out = rampart(&["get", "note", "--client", s(&brief)]);
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            if !out.status.success() && err.contains("expired") {
                Ok(err)
            } else {
                Err(format!("still accepted: {err}"))
            }
        },
    );
    assert!(why.contains("denied"), "{why}");
    std::fs::write(&src, b"second").expect("write");
    rampart_ok(&["put", "note", s(&src), "--client", s(&renewed)]);
    assert_eq!(
        rampart_ok(&["get", "note", "--client", s(&renewed)]),
        "second"
    );

    // Revoked through the MS: every replica refuses it once it is in the next epoch.
    let queued_in = epoch_of(&c.nodes[0].addr);
    let out = rampart_ok(&[
        "admin",
        "--admin-dir",
        a,
        "revoke-client",
        "--client",
        "app",
        "--out",
        s(&root.join("app.revoke")),
        "--peer",
        &c.nodes[0].addr,
    ]);
    assert!(out.contains("queued"), "{out}");
    let app_cred = bootstrap::credential::read(&root.join("clients/app.cred")).expect("cred");
    let app_id = ClientId::of(&app_cred.key.public());
    let doc = overlay::dbqs::object::keyed_id(&app_cred.key.public(), b"doc");
    wait_for(
        "every node in the epoch after the revocation",
        Duration::from_secs(60),
        || {
            c.nodes
                .iter()
                .all(|n| epoch_of(&n.addr) > queued_in)
                .then_some(())
                .ok_or("not yet".to_string())
        },
    );
    for n in &c.nodes {
        let r = send(
            &n.addr,
            &app_cred.key,
            &app_cred.cert,
            Request::Read { id: doc },
        );
        assert!(
            matches!(&r, Reply::Refused(Refusal::Denied(w)) if w.contains("revoked")),
            "{}: {r:?}",
            n.addr
        );
    }
    revoked_everywhere(&c, &app_id).expect("every node lists the revocation");
    let err = rampart_fails(&["put", "doc", s(&src), "--client", s(&app)]);
    assert!(err.contains("revoked"), "{err}");

    // A client that signs two values as one version is revoked with no admin involved.
    c.client("evil", "put,get", "30d");
    let evil = bootstrap::credential::read(&root.join("clients/evil.cred")).expect("cred");
    let evil_id = ClientId::of(&evil.key.public());
    let write = |value: &[u8]| Request::Write {
        version: Box::new(
            Version::sign(
                &evil.key,
                b"ledger",
                1,
                Some(Blob::Inline(value.to_vec()).to_bytes()),
            )
            .with_credential(evil.cert.clone()),
        ),
    };
    for value in [&b"pay alice"[..], &b"pay mallory"[..]] {
        for n in &c.nodes {
            let r = send(&n.addr, &evil.key, &evil.cert, write(value));
            assert!(matches!(r, Reply::Stored { .. }), "{}: {r:?}", n.addr);
        }
    }
    wait_for(
        "the equivocating client revoked on every node",
        Duration::from_secs(60),
        || revoked_everywhere(&c, &evil_id),
    );
    let st = status_of(&c.nodes[1].addr).expect("status");
    let events = st["events"].as_array().expect("events");
    assert!(
        events.iter().any(|e| e["kind"] == "evidence"),
        "the node shows the proof it reported: {events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "revoked" && e["subject"] == evil_id.0.to_hex()),
        "{events:?}"
    );
    let log = c.nodes[1].log();
    assert!(
        log.contains("signed two different values as version 1"),
        "the node logs the proof"
    );
    let r = send(
        &c.nodes[2].addr,
        &evil.key,
        &evil.cert,
        Request::Read {
            id: overlay::dbqs::object::keyed_id(&evil.key.public(), b"ledger"),
        },
    );
    assert!(
        matches!(&r, Reply::Refused(Refusal::Denied(w)) if w.contains("revoked")),
        "{r:?}"
    );

    // Analysts: from this host `rampart analyze` needs nothing; with a credential it must
    // grant `analyze`.
    let shown = rampart_ok(&["analyze", "--peer", &c.nodes[0].addr]);
    for part in ["epochs (newest first)", "recent events", "revoked", "probe"] {
        assert!(shown.contains(part), "{part} missing from:\n{shown}");
    }
    c.client("analyst", "analyze", "30d");
    let analyst_cred = root.join("clients/analyst.cred");
    let shown = rampart_ok(&[
        "analyze",
        "--peer",
        &c.nodes[0].addr,
        "--credential",
        s(&analyst_cred),
    ]);
    assert!(shown.contains("epochs (newest first)"), "{shown}");
    let err = rampart_fails(&[
        "analyze",
        "--peer",
        &c.nodes[0].addr,
        "--credential",
        s(&root.join("clients/reader.cred")),
    ]);
    assert!(err.contains("does not grant `analyze`"), "{err}");
    let err = rampart_fails(&[
        "analyze",
        "--token",
        "--peer",
        &c.nodes[0].addr,
        "--credential",
        s(&root.join("clients/reader.cred")),
    ]);
    assert!(err.contains("does not grant `analyze`"), "{err}");
    let token_for = |node: usize| c.analyst_token(node, &analyst_cred);
    let (token, token_of_node1) = (token_for(0), token_for(1));
    let token = token.as_str();

    // Over HTTP from another address of this host: refused without a token or with a bad
    // one, answered with the analyst's.
    let Some(ip) = outside_address() else {
        eprintln!("SKIPPED the remote HTTP part: this host has no non-loopback address");
        return;
    };
    let http = status_of(&c.nodes[0].addr).expect("status")["http"]
        .as_str()
        .expect("http address")
        .to_string();
    let port = http.rsplit(':').next().expect("port");
    let remote = format!("{ip}:{port}");
    let (code, body) = http_get(&remote, "/status", None);
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("token"), "{body}");
    let (code, _) = http_get(&remote, "/metrics", Some("00ff"));
    assert_eq!(code, 403);
    let (code, body) = http_get(&remote, "/status", Some(token));
    assert_eq!(code, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(json["members"].as_array().map(Vec::len), Some(4));
    let (code, body) = http_get(&remote, "/metrics", Some(token));
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("rampart_epoch"), "{body}");
    let (code, body) = http_get(&remote, &format!("/metrics?token={token}"), None);
    assert_eq!(code, 403, "a token in the URL is refused: {body}");
    assert!(body.contains("header"), "{body}");
    let (code, body) = http_get(&remote, "/status", Some(&token_of_node1));
    assert_eq!(code, 403, "node 1's token at node 0: {body}");
    assert!(body.contains("is for node"), "{body}");
    // DNS rebinding: the right address, a name that is not this node's.
    let (code, body) = http_request(
        &remote,
        "GET",
        "/status",
        "rebind.attacker.example",
        Some(token),
    )
    .expect("an HTTP answer");
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("not a name of this node"), "{body}");
    let (code, body) = http_request(&remote, "GET", "/", "rebind.attacker.example:80", None)
        .expect("an HTTP answer");
    assert_eq!(code, 403, "the dashboard too: {body}");
    // Logging out revokes that token at once, and only that one.
    let (code, body) =
        http_request(&remote, "POST", "/logout", &remote, Some(token)).expect("an HTTP answer");
    assert_eq!(code, 200, "{body}");
    let (code, body) = http_get(&remote, "/status", Some(token));
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("revoked"), "{body}");
    let fresh = token_for(0);
    let (code, body) = http_get(&remote, "/status", Some(&fresh));
    assert_eq!(code, 200, "a new token works: {body}");
    let (code, _) = http_get(&http.replace("0.0.0.0", "127.0.0.1"), "/status", None);
    assert_eq!(code, 200, "this host needs no token");
}
