//! Hostile requests to real dBQS replicas: forged, tampered, borrowed and expired credentials,
//! a client without `put`, a malformed manifest, oversized values and frames, more streams
//! than a peer may hold, and a revoked client. Each gets a clear refusal and leaves the stored object as it was.

use std::time::Duration;

use overlay::cert::{CertContent, Certificate};
use overlay::crypto::SecretKey;
use overlay::dbqs::blob::{Blob, Manifest};
use overlay::dbqs::object::{VALUE_BYTES_MAX, Version, keyed_id};
use overlay::dbqs::provenance::ContentProof;
use overlay::dbqs::replica::{CONTENT_BYTES_MAX, Refusal, Reply, Request};
use overlay::dbqs::wire::{StoreReply, StoreRequest};
use overlay::id::{Epoch, Hash};
use overlay::time::Timestamp;
use rampart::client::{Client, ClientOptions};
use rampart::net::client::{store_request, store_request_on_streams};
use rampart::net::store_stream::STREAMS_PER_PEER_MAX;
use rampart_tests::cluster::Cluster;
use rampart_tests::{rampart, rampart_fails, rampart_ok, wait_for};

fn refusal(r: anyhow::Result<StoreReply>) -> Refusal {
    match r.expect("the replica answers").reply {
        Reply::Refused(why) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn hostile_requests_are_refused_with_reasons_and_change_nothing() {
    let mut c = Cluster::genesis(4);
    c.node_config = "[ms]\nepoch_interval_ms = 1000\n".into();
    c.start_all();
    c.wait_meshed(Duration::from_secs(60));
    let owner_file = c.client("owner", "put,get", "30d");
    let auditor_file = c.client("auditor", "get", "30d");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let owner = rt
        .block_on(Client::connect(
            ClientOptions::from_client_file(&owner_file).expect("client file"),
        ))
        .expect("owner");
    let auditor = rt
        .block_on(Client::connect(
            ClientOptions::from_client_file(&auditor_file).expect("client file"),
        ))
        .expect("auditor");
    rt.block_on(owner.put(b"doc", b"original")).expect("put");
    let owner_key = owner.owner();
    let doc = keyed_id(&owner_key, b"doc");
    let unchanged = || {
        let v = rt
            .block_on(auditor.read_version(doc))
            .expect("read")
            .expect("held");
        assert_eq!(v.stamp.number, 1, "the object moved");
        assert_eq!(
            rt.block_on(auditor.get_of(&owner_key, b"doc")).unwrap(),
            Some(b"original".to_vec())
        );
    };

    let cred = bootstrap::credential::read(&c.root.path().join("clients/owner.cred")).unwrap();
    let authority =
        bootstrap::keyfile::read(&c.admin_dir().join(bootstrap::admin::AUTHORITY_KEY)).unwrap();
    let addr = c.nodes[1].addr.clone();
    let send = |key: &SecretKey, cert: &Certificate, req: Request| {
        let msg = StoreRequest {
            epoch: Epoch(0),
            credential: cert.clone(),
            req,
        };
        rt.block_on(store_request(&addr, key, msg, Duration::from_secs(10)))
    };
    let overwrite = |value: Vec<u8>| Request::Write {
        version: Box::new(
            Version::sign(&cred.key, b"doc", 2, Some(value)).with_credential(cred.cert.clone()),
        ),
    };
    let good_value = Blob::Inline(b"evil".to_vec()).to_bytes();

    // A credential signed by another key than the authority.
    let forged = Certificate::issue(&SecretKey::from_seed(&[9; 32]), cred.cert.content.clone());
    let r = refusal(send(&cred.key, &forged, overwrite(good_value.clone())));
    assert!(
        matches!(&r, Refusal::BadCredential(s) if s.contains("wrong authority")),
        "{r}"
    );
    // The authority's certificate with its capabilities edited.
    let mut tampered = cred.cert.clone();
    tampered.content.not_after = Timestamp(u64::MAX);
    let r = refusal(send(&cred.key, &tampered, overwrite(good_value.clone())));
    assert!(
        matches!(&r, Refusal::BadCredential(s) if s.contains("signature")),
        "{r}"
    );
    // Someone else's credential over a connection with another key.
    let thief = SecretKey::from_seed(&[7; 32]);
    let r = refusal(send(&thief, &cred.cert, overwrite(good_value.clone())));
    assert!(
        matches!(&r, Refusal::BadCredential(s) if s.contains("another key")),
        "{r}"
    );
    // An expired credential, really signed by the authority.
    let now = rampart::timeutil::now();
    let expired = Certificate::issue(
        &authority,
        CertContent {
            body: cred.cert.content.body.clone(),
            issued_at: Timestamp(now.0 - 100),
            not_before: Timestamp(now.0 - 100),
            not_after: Timestamp(now.0 - 10),
        },
    );
    let r = refusal(send(&cred.key, &expired, overwrite(good_value.clone())));
    assert!(
        matches!(&r, Refusal::Denied(s) if s.contains("expired")),
        "{r}"
    );
    unchanged();

    // A client without `put`, through the CLI and on the wire.
    let src = c.root.path().join("evil.txt");
    std::fs::write(&src, b"evil").unwrap();
    let err = rampart_fails(&[
        "put",
        "doc",
        src.to_str().unwrap(),
        "--client",
        auditor_file.to_str().unwrap(),
    ]);
    assert!(err.contains("does not grant `put`"), "{err}");
    let acred = bootstrap::credential::read(&c.root.path().join("clients/auditor.cred")).unwrap();
    let own = Request::Write {
        version: Box::new(Version::sign(
            &acred.key,
            b"doc",
            1,
            Some(good_value.clone()),
        )),
    };
    let r = refusal(send(&acred.key, &acred.cert, own));
    assert!(matches!(&r, Refusal::Denied(s) if s.contains("put")), "{r}");
    // Nor can it store under a fresh key dressed as a write-back: the version must carry
    // its owner's credential granting `put`.
    let stranger = SecretKey::from_seed(&[5; 32]);
    let smuggled = Version::sign(&stranger, b"junk", 1, Some(good_value.clone()));
    let junk_id = smuggled.id();
    let r = refusal(send(
        &acred.key,
        &acred.cert,
        Request::Write {
            version: Box::new(smuggled.clone()),
        },
    ));
    assert!(
        matches!(&r, Refusal::BadCredential(s) if s.contains("no credential")),
        "{r}"
    );
    let r = refusal(send(
        &acred.key,
        &acred.cert,
        Request::Write {
            version: Box::new(smuggled.with_credential(acred.cert.clone())),
        },
    ));
    assert!(
        matches!(&r, Refusal::BadCredential(s) if s.contains("not the storing client")),
        "{r}"
    );
    let held = send(&acred.key, &acred.cert, Request::Read { id: junk_id }).unwrap();
    assert_eq!(held.reply, Reply::Version(None));
    unchanged();

    // A manifest whose chunk list does not fit its size.
    let bad = Blob::Chunked(Manifest {
        size: 10 << 20,
        chunk_bytes: 1 << 20,
        chunks: vec![Hash([1; 32]); 3],
        digest: Hash([0; 32]),
    });
    let r = refusal(send(&cred.key, &cred.cert, overwrite(bad.to_bytes())));
    assert!(
        matches!(&r, Refusal::BadVersion(s) if s.contains("malformed manifest")),
        "{r}"
    );
    // Oversized: a value over the bound, a content object over the bound, a frame over the
    // wire's bound (the replica drops the stream; the node stays up).
    let r = refusal(send(
        &cred.key,
        &cred.cert,
        overwrite(vec![0; VALUE_BYTES_MAX + 100]),
    ));
    assert!(matches!(&r, Refusal::BadVersion(_)), "{r}");
    let big = vec![1u8; CONTENT_BYTES_MAX + 1];
    let big_id = overlay::dbqs::object::content_id(&big);
    let proof = Box::new(ContentProof::sign(&cred.key, big_id, cred.cert.clone()));
    let r = refusal(send(
        &cred.key,
        &cred.cert,
        Request::PutContent {
            bytes: big,
            proof: proof.clone(),
        },
    ));
    assert!(matches!(&r, Refusal::TooLarge(_)), "{r}");
    let frame = send(
        &cred.key,
        &cred.cert,
        Request::PutContent {
            bytes: vec![2; 2 * CONTENT_BYTES_MAX],
            proof: Box::new(ContentProof::sign(&cred.key, big_id, cred.cert.clone())),
        },
    );
    assert!(frame.is_err(), "an oversized frame was answered: {frame:?}");
    let held = send(&cred.key, &cred.cert, Request::GetContent { id: big_id }).unwrap();
    assert_eq!(held.reply, Reply::Content(None));
    // One peer opening more store streams than it may hold: those past the bound are closed
    // unanswered, the others served (here with a refusal: the key is not the credential's).
    let hoarder = SecretKey::from_seed(&[11; 32]);
    let msg = StoreRequest {
        epoch: Epoch(0),
        credential: cred.cert.clone(),
        req: Request::Read { id: doc },
    };
    let extra = 4;
    let outcomes = rt
        .block_on(store_request_on_streams(
            &addr,
            &hoarder,
            msg,
            STREAMS_PER_PEER_MAX + extra,
            Duration::from_secs(20),
        ))
        .expect("the streams end one way or the other");
    let answered = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(
        answered, STREAMS_PER_PEER_MAX,
        "streams answered past the bound: {outcomes:?}"
    );
    // Content whose storing signature is not over its id (here: another object's) is
    // refused: a transfer could not tell it from content an old replica made up.
    let small = b"small".to_vec();
    let small_id = overlay::dbqs::object::content_id(&small);
    let r = refusal(send(
        &cred.key,
        &cred.cert,
        Request::PutContent {
            bytes: small,
            proof,
        },
    ));
    assert!(matches!(&r, Refusal::BadCredential(_)), "{r}");
    let held = send(&cred.key, &cred.cert, Request::GetContent { id: small_id }).unwrap();
    assert_eq!(held.reply, Reply::Content(None));
    rampart_tests::cluster::status_of(&addr).expect("the replica is still up");
    unchanged();

    // Revoked through the MS: from the next epoch every replica refuses the owner.
    let rv = c.root.path().join("owner.revoke");
    let out = rampart_ok(&[
        "admin",
        "--admin-dir",
        c.admin_dir().to_str().unwrap(),
        "revoke-client",
        "--client",
        "owner",
        "--out",
        rv.to_str().unwrap(),
        "--peer",
        &c.nodes[0].addr,
    ]);
    assert!(out.contains("queued"), "{out}");
    // Asked with reads, which change nothing while the revocation is on its way.
    let why = wait_for(
        "the owner refused as revoked",
        Duration::from_secs(60),
        || {
            let out = rampart(&["get", "doc", "--client", owner_file.to_str().unwrap()]);
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            if !out.status.success() && err.contains("revoked") {
                Ok(err)
            } else {
                Err(format!("not yet: {err}"))
            }
        },
    );
    assert!(why.contains("denied"), "{why}");
    let err = rampart_fails(&[
        "put",
        "doc",
        src.to_str().unwrap(),
        "--client",
        owner_file.to_str().unwrap(),
    ]);
    assert!(err.contains("revoked"), "{err}");
    unchanged();
}
