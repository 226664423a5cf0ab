//! Small valid inputs for every target, built from the fixtures so that they verify: the
//! seeds in `corpus/<target>/seed-*`, written by `cargo run --example seeds`.

use overlay::analyst::AnalystToken;
use overlay::cert::{CertBody, Certificate};
use overlay::config::{Configuration, Delta};
use overlay::crypto::SecretKey;
use overlay::dbqs::blob::{Blob, CHUNK_BYTES, Manifest};
use overlay::dbqs::object::{Version, content_id, keyed_id};
use overlay::dbqs::provenance::Content;
use overlay::dbqs::replica::{Refusal, Reply, Request as StoreOp};
use overlay::dbqs::wire::{StoreReply, StoreRequest};
use overlay::encoding::{domain_bytes, encode};
use overlay::epoch::EpochStatement;
use overlay::epoch::news::EpochNews;
use overlay::freshness::{FreshnessCert, FreshnessStatement};
use overlay::id::{ClientId, Epoch, Hash, NodeId};
use overlay::ms::{Evidence, MsApp, MsError, Op, Receipt, Statement};
use overlay::pbft::{
    Application, Catchup, CheckpointProof, Payload, Reply as PbftReply, Request as PbftRequest,
    Seq, Signed, SignedReply, SignedRequest, View, ViewChange,
};
use overlay::probe::{self, Challenge, ProbeMsg};
use overlay::ring::{Range, RangeSet};
use overlay::status::{
    EpochSummary, Event, EventKind, MemberStatus, MsQueue, OpLatency, PbftStatus, StatusReport,
    StoreStatus, TransferStatus,
};
use overlay::threshold::session::{HolderReply, SignMsg};
use overlay::time::Timestamp;
use overlay::transfer::mover::{Pending, Saved};
use overlay::transfer::page::{Held, ListPage, ListRequest, Listed};
use overlay::transfer::wire::{Answer, Ask, TransferReply, TransferRequest};
use overlay::wire::{Request, Response};

use crate::*;

/// One seed: the target it is for, a name, the bytes.
pub struct Seed {
    /// The target.
    pub target: &'static str,
    /// The file name: `seed-<what>`, or `crash-<what>` for an input that once crashed the
    /// target (kept as a regression).
    pub name: String,
    /// The input.
    pub bytes: Vec<u8>,
}

struct Seeds(Vec<Seed>);

impl Seeds {
    fn add(&mut self, target: &'static str, name: &str, bytes: Vec<u8>) {
        self.0.push(Seed {
            target,
            name: format!("seed-{name}"),
            bytes,
        });
    }

    fn crash(&mut self, target: &'static str, name: &str, bytes: Vec<u8>) {
        self.0.push(Seed {
            target,
            name: format!("crash-{name}"),
            bytes,
        });
    }
}

fn member_id(i: u8) -> NodeId {
    NodeId::of(&key(i).public())
}

fn add_cert(i: u8) -> Certificate {
    let m = member(i);
    cert(CertBody::Add {
        node: m.key,
        addrs: m.addrs,
    })
}

fn version(owner: &SecretKey, name: &[u8], number: u64, value: Option<Vec<u8>>) -> Version {
    Version::sign(owner, name, number, value).with_credential(CREDENTIAL.clone())
}

/// `bytes` as the fuzz client stored them.
fn stored(bytes: Vec<u8>) -> Content {
    Content::sign(&client(), CREDENTIAL.clone(), bytes)
}

fn chunk() -> Content {
    stored(b"chunk".to_vec())
}

fn manifest() -> Blob {
    let size = CHUNK_BYTES as u64 + 10;
    Blob::Chunked(Manifest {
        size,
        chunk_bytes: CHUNK_BYTES as u32,
        chunks: vec![Hash([1; 32]), Hash([2; 32])],
        digest: Hash([3; 32]),
    })
}

fn status_report() -> StatusReport {
    let mut read = OpLatency::new("read");
    read.observe(300);
    read.observe(70_000);
    StatusReport {
        node: member_id(1),
        version: "0.1.0".into(),
        uptime_secs: 60,
        listen: vec!["/ip4/127.0.0.1/tcp/7001".into()],
        http: Some("127.0.0.1:9001".into()),
        epoch: CONFIG.epoch,
        config_hash: CONFIG.hash(),
        f: 1,
        f_ms: 1,
        members: vec![MemberStatus {
            node: member_id(2),
            addrs: member(2).addrs,
            ms: true,
            connected: true,
            probe_age_secs: Some(3),
            probe_misses: Some(0),
        }],
        pbft: Some(PbftStatus {
            replica: 0,
            view: 0,
            active: true,
            primary: member_id(1),
            last_exec: 5,
            stable: 0,
            executed_ops: 5,
            state: Hash([4; 32]),
            dropped: 0,
            ms: Some(MsQueue::default()),
        }),
        store: Some(StoreStatus {
            keyed: 1,
            content: 2,
            served: 3,
            refused: [("busy".to_string(), 1)].into_iter().collect(),
            write_batches: 4,
            batched_writes: 9,
            transfer: TransferStatus::default(),
            latency: vec![read],
        }),
        vnodes: 4,
        history: vec![EpochSummary {
            epoch: CONFIG.epoch,
            members: 4,
            ms_group: CONFIG.ms_group.clone(),
            joined: vec![],
            left: vec![],
            revoked: vec![],
            secs_ago: 10,
        }],
        revoked: vec![(ClientId::of(&client().public()), 5)],
        events: vec![Event {
            secs_ago: 1,
            epoch: CONFIG.epoch,
            kind: EventKind::Joined,
            subject: Hash([6; 32]),
            detail: "joined".into(),
        }],
        refused: overlay::status::Refused {
            order_full: 2,
            connections: 5,
            ..Default::default()
        },
    }
}

fn control(s: &mut Seeds) {
    let requests = [
        (
            "config",
            Request::Config {
                epoch: CONFIG.epoch,
                config_hash: CONFIG.hash(),
            },
        ),
        ("status", Request::Status),
        ("analyze", Request::Analyze(Box::new(CREDENTIAL.clone()))),
        ("configuration", Request::Configuration),
        ("freshness", Request::Freshness { nonce: [3; 32] }),
        ("handover", Request::Handover),
        ("ms-state", Request::MsState { epoch: Epoch(2) }),
        ("admit", Request::Admit(Box::new(add_cert(MEMBERS + 2)))),
        ("past-config", Request::PastConfig { epoch: Epoch(0) }),
    ];
    for (name, r) in requests {
        s.add("control_request", name, r.to_bytes());
    }
    let fresh = FreshnessStatement {
        nonce: [3; 32],
        epoch: CONFIG.epoch,
    };
    let next_cert = epoch_cert(&NEXT, DELTA.hash());
    let responses = [
        (
            "config",
            Response::Config {
                config: Box::new(CONFIG.clone()),
                cert: *CONFIG_CERT,
            },
        ),
        (
            "config-next",
            Response::Config {
                config: Box::new(NEXT.clone()),
                cert: next_cert,
            },
        ),
        ("not-newer", Response::NotNewer { cert: *CONFIG_CERT }),
        ("status", Response::Status(Box::new(status_report()))),
        (
            "freshness",
            Response::Freshness(FreshnessCert {
                statement: fresh,
                signature: ms_sign(&fresh.signed_bytes()),
            }),
        ),
        (
            "handover",
            Response::Handover(HANDOVER_STATE.handover().cloned().map(Box::new)),
        ),
        (
            "handover-complete",
            Response::Handover(COMPLETE_STATE.handover().cloned().map(Box::new)),
        ),
        ("handover-none", Response::Handover(None)),
        ("ms-state", Response::MsState(encode(&*HANDOVER_STATE))),
        ("relayed", Response::Relayed),
        ("refused", Response::Refused("no".into())),
    ];
    for (name, r) in responses {
        s.add("control_response", name, r.to_bytes());
    }
}

fn store(s: &mut Seeds) {
    let c = client();
    let inline = Blob::Inline(b"value".to_vec()).to_bytes();
    let written = version(&c, b"name", 1, Some(inline.clone()));
    let ops = [
        (
            "read",
            StoreOp::Read {
                id: keyed_id(&c.public(), b"name"),
            },
        ),
        (
            "write",
            StoreOp::Write {
                version: Box::new(written.clone()),
            },
        ),
        (
            "write-manifest",
            StoreOp::Write {
                version: Box::new(version(&c, b"big", 2, Some(manifest().to_bytes()))),
            },
        ),
        (
            "delete",
            StoreOp::Write {
                version: Box::new(version(&c, b"name", 3, None)),
            },
        ),
        (
            "get-content",
            StoreOp::GetContent {
                id: content_id(b"chunk"),
            },
        ),
        (
            "put-content",
            StoreOp::PutContent {
                bytes: b"chunk".to_vec(),
                proof: Box::new(chunk().proof),
            },
        ),
    ];
    for (name, req) in ops {
        let m = StoreRequest {
            epoch: CONFIG.epoch,
            credential: CREDENTIAL.clone(),
            req,
        };
        s.add("store_request", name, encode(&m));
    }
    let replies = [
        ("version", Reply::Version(Some(Box::new(written.clone())))),
        ("no-version", Reply::Version(None)),
        (
            "stored",
            Reply::Stored {
                held: written.key(),
            },
        ),
        (
            "content",
            Reply::Content(Some(Box::new(stored(manifest().to_bytes())))),
        ),
        (
            "content-stored",
            Reply::ContentStored {
                id: content_id(b"chunk"),
            },
        ),
        (
            "refused",
            Reply::Refused(Refusal::StaleEpoch {
                client: Epoch(0),
                current: CONFIG.epoch,
            }),
        ),
    ];
    for (name, reply) in replies {
        let m = StoreReply {
            epoch: CONFIG.epoch,
            reply,
        };
        s.add("store_reply", name, encode(&m));
    }
    s.add("blob", "inline", inline);
    s.add("blob", "manifest", manifest().to_bytes());
    s.add("blob", "empty", Blob::Inline(vec![]).to_bytes());
}

fn transfer(s: &mut Seeds) {
    let c = client();
    let v = version(&c, b"name", 1, Some(b"value".to_vec()));
    let half = Range {
        start: Hash([0; 32]),
        end: Hash([0x80; 32]),
    };
    let asks = [
        (
            "list",
            Ask::List {
                source: Epoch(0),
                req: ListRequest {
                    range: Range::full(),
                    after: None,
                    limit: 256,
                },
            },
        ),
        (
            "list-after",
            Ask::List {
                source: Epoch(0),
                req: ListRequest {
                    range: half,
                    after: Some(Hash([0x10; 32])),
                    limit: 4,
                },
            },
        ),
        (
            "get",
            Ask::Get {
                source: Epoch(0),
                req: StoreOp::Read { id: v.id() },
            },
        ),
        (
            "complete",
            Ask::Complete {
                epoch: CONFIG.epoch,
                ranges: vec![Range::full(), half],
            },
        ),
    ];
    for (name, ask) in asks {
        let m = TransferRequest {
            epoch: CONFIG.epoch,
            ask,
        };
        s.add("transfer_request", name, encode(&m));
    }
    let mut entries = vec![
        Listed {
            id: v.id(),
            held: Held::Keyed(v.key()),
        },
        Listed {
            id: content_id(b"chunk"),
            held: Held::Content,
        },
    ];
    entries.sort_by_key(|l| l.id);
    let answers = [
        (
            "page",
            Answer::Page(ListPage {
                entries,
                complete: true,
            }),
        ),
        ("object", Answer::Object(Reply::Version(Some(Box::new(v))))),
        (
            "content",
            Answer::Object(Reply::Content(Some(Box::new(chunk())))),
        ),
        ("complete", Answer::Complete(vec![true, false])),
        ("refused", Answer::Refused("not a member".into())),
    ];
    for (name, answer) in answers {
        let m = TransferReply {
            epoch: CONFIG.epoch,
            answer,
        };
        s.add("transfer_reply", name, encode(&m));
    }
    s.add("transfer_state", "resumed", encode(&saved()));
    s.add("transfer_state", "first-start", encode(&Saved::default()));
    let mut pending = saved();
    pending.pending.push(Pending {
        range: half,
        source: Epoch(0),
        group: CONFIG.members.iter().map(|m| m.id()).collect(),
        since: Epoch(1),
        until: None,
        cursor: Some(Hash([0x20; 32])),
        objects: 3,
        bytes: 300,
    });
    pending.dirty = RangeSet::of(&half);
    s.add("transfer_state", "pending", encode(&pending));
}

fn pbft(s: &mut Seeds) {
    let cfg = pbft_config();
    let signer = |idx: u32| secret_of(&cfg.replicas[idx as usize]);
    let sign = |idx: u32, payload: Payload| {
        Signed::sign(&signer(idx), &cfg.instance, ReplicaIdx(idx), payload)
    };
    let request = SignedRequest::sign(
        &key(1),
        PbftRequest {
            instance: cfg.instance,
            client: key(1).public(),
            timestamp: 7,
            op: MsApp::encode_op(&Op::Unresponsive { node: member_id(2) }),
        },
    );
    let batch = overlay::pbft::Batch(vec![request.clone()]);
    let digest = batch.digest();
    let (v0, s1) = (View(0), Seq(1));
    // A replica's snapshot (the application's, then its client table, empty) and its digest.
    let app = MsApp::new(HANDOVER_STATE.clone());
    let snapshot = encode(&(app.snapshot(), Vec::<u8>::new()));
    let state = Hash::of(&[&snapshot]);
    let checkpoint_votes: Vec<Signed> = (1..4)
        .map(|i| {
            sign(
                i,
                Payload::Checkpoint {
                    seq: Seq(16),
                    state,
                },
            )
        })
        .collect();
    let proof = CheckpointProof {
        seq: Seq(16),
        state,
        votes: checkpoint_votes,
    };
    let messages = [
        (
            "request",
            sign(2, Payload::Request(Box::new(request.clone()))),
        ),
        (
            "pre-prepare",
            sign(
                0,
                Payload::PrePrepare {
                    view: v0,
                    seq: s1,
                    digest,
                    batch,
                },
            ),
        ),
        (
            "prepare",
            sign(
                2,
                Payload::Prepare {
                    view: v0,
                    seq: s1,
                    digest,
                },
            ),
        ),
        (
            "commit",
            sign(
                2,
                Payload::Commit {
                    view: v0,
                    seq: s1,
                    digest,
                },
            ),
        ),
        (
            "checkpoint",
            sign(
                2,
                Payload::Checkpoint {
                    seq: Seq(16),
                    state,
                },
            ),
        ),
        (
            "view-change",
            sign(
                2,
                Payload::ViewChange(Box::new(ViewChange {
                    new_view: View(1),
                    stable: CheckpointProof::default(),
                    prepared: vec![],
                })),
            ),
        ),
        (
            "status",
            sign(
                3,
                Payload::Status {
                    view: v0,
                    active: true,
                    last_exec: Seq(3),
                    stable: Seq(0),
                },
            ),
        ),
        ("stable", sign(3, Payload::Stable(proof.clone()))),
        (
            "catchup",
            sign(
                3,
                Payload::Catchup(Box::new(Catchup {
                    checkpoint: Some((proof, snapshot)),
                    committed: vec![],
                })),
            ),
        ),
    ];
    for (name, m) in messages {
        s.add("pbft_message", name, m.to_bytes());
    }
    s.add("pbft_client", "request", encode(&request));
    let client_request = SignedRequest::sign(
        &key(3),
        PbftRequest {
            instance: cfg.instance,
            client: key(3).public(),
            timestamp: 9,
            op: MsApp::encode_op(&Op::NewEpoch {
                closing: CONFIG.epoch,
                now: NOW,
            }),
        },
    );
    s.add("pbft_client", "request-new-epoch", encode(&client_request));
    for idx in [0u32, 2] {
        let reply = SignedReply::sign(
            &signer(idx),
            PbftReply {
                view: View(0),
                timestamp: CLIENT_OP_TIMESTAMP,
                client: key(1).public(),
                replica: ReplicaIdx(idx),
                result: encode(&Receipt::Noted),
            },
        );
        s.add("pbft_client", &format!("reply-{idx}"), encode(&reply));
    }
}

fn ms(s: &mut Seeds) {
    let h = HANDOVER_STATE.handover().expect("a handover").clone();
    let (old, new) = HANDING.holders();
    let deal = Handing {
        state: HANDOVER_STATE.clone(),
        ephemerals: Default::default(),
    }
    .deal(old[1], 12);
    let statement = |content: u8| {
        let st = Statement {
            signer: key(2).public(),
            slot: Hash([1; 32]),
            content: Hash([content; 32]),
        };
        let sig = key(2).sign(&st);
        (st, sig)
    };
    let ops = [
        ("add", Op::Add(add_cert(MEMBERS + 2))),
        (
            "remove",
            Op::Remove(cert(CertBody::Remove { node: member_id(4) })),
        ),
        (
            "revoke",
            Op::Revoke(cert(CertBody::Revoke {
                client: ClientId::of(&client().public()),
            })),
        ),
        ("unresponsive", Op::Unresponsive { node: member_id(3) }),
        (
            "misbehaviour",
            Op::Misbehaviour(Evidence::Statements {
                a: statement(1),
                b: statement(2),
            }),
        ),
        (
            "new-epoch",
            Op::NewEpoch {
                closing: CONFIG.epoch,
                now: NOW,
            },
        ),
        ("deal", deal),
        ("complain", Op::Complain { dealer: old[0] }),
        ("reveal", HANDING.reveal(&old[0], new[0])),
        ("ready", Op::Ready { checked: 1 }),
        (
            "certified",
            Op::Certified(overlay::epoch::EpochCert {
                statement: h.statement,
                signature: ms_sign(&domain_bytes(&h.statement)),
            }),
        ),
    ];
    for (name, op) in ops {
        s.add("ms_op", name, MsApp::encode_op(&op));
    }
    let receipts = [
        ("queued", Receipt::Queued),
        ("noted", Receipt::Noted),
        (
            "epoch",
            Receipt::Epoch {
                epoch: Epoch(2),
                config: NEXT.hash(),
                delta: DELTA.hash(),
            },
        ),
        ("refused", Receipt::Refused(MsError::NotReporter)),
        (
            "refused-cert",
            Receipt::Refused(MsError::Cert("expired".into())),
        ),
        ("malformed", Receipt::Malformed("bad".into())),
    ];
    for (name, r) in receipts {
        s.add("ms_receipt", name, encode(&r));
    }
    s.add("ms_state", "genesis", encode(&*STATE));
    s.add("ms_state", "handover", encode(&*HANDOVER_STATE));
    s.add("ms_state", "complete", encode(&*COMPLETE_STATE));
    s.add(
        "ms_state",
        "app-handover",
        encode(&MsApp::new(HANDOVER_STATE.clone())),
    );
}

fn tsig(s: &mut Seeds) {
    let holders = CONFIG.ms_group.clone();
    let mut msgs = vec![(
        "commit".to_string(),
        SignMsg::Commit {
            session: TSIG_SESSION,
            attempt: 1,
        },
    )];
    // The first holder's commitment, as the fixture session's randomness makes it.
    let (_, mut first, _) = tsig_session();
    if let Some(c) = first[0].commit(TSIG_SESSION, 1, crate::tsig_asker(), &mut tsig_rng()).ok() {
        if let SignMsg::Commitment { commitment, .. } = &c {
            s.add("frost_keys", "commitment", commitment.clone());
        }
        msgs.push(("commitment".into(), c));
    }
    // The signers hold the nonces of the fixture session: the shares they make verify at
    // the fixture coordinator.
    let (_, mut signers, sent) = tsig_signing();
    for (to, msg) in &sent {
        let who = to.0.short();
        msgs.push((format!("sign-{who}"), msg.clone()));
        let SignMsg::Sign { package, .. } = msg else {
            continue;
        };
        s.add("frost_keys", &format!("package-{who}"), package.clone());
        let i = holders.iter().position(|h| h == to).expect("a holder");
        if let Ok(share) = signers[i].sign(TSIG_SESSION, 1, package, approve) {
            if let SignMsg::Share { share: b, .. } = &share {
                s.add("frost_keys", &format!("share-{who}"), b.clone());
            }
            msgs.push((format!("share-{who}"), share));
        }
    }
    for (name, m) in msgs {
        s.add("tsig", &name, encode(&m));
        s.add(
            "tsig",
            &format!("reply-{name}"),
            encode(&HolderReply::Msg(m)),
        );
    }
    s.add(
        "tsig",
        "reply-refused",
        encode(&HolderReply::Refused("no".into())),
    );
    s.add("frost_keys", "public-package", MS_PUBLIC.clone());
    s.add(
        "frost_keys",
        "key-package",
        share(1).serialize().expect("a key package serialises"),
    );
    let fresh = FreshnessStatement {
        nonce: [3; 32],
        epoch: CONFIG.epoch,
    };
    s.add("signed_statement", "freshness", fresh.signed_bytes());
    s.add(
        "signed_statement",
        "epoch",
        domain_bytes(&EpochStatement {
            epoch: NEXT.epoch,
            config_hash: NEXT.hash(),
            delta_hash: DELTA.hash(),
        }),
    );
}

fn gossip(s: &mut Seeds) {
    let ms_member = CONFIG.ms_group[0];
    let i = (1..=MEMBERS)
        .find(|i| member_id(*i) == ms_member)
        .expect("its key");
    let c = Challenge {
        epoch: CONFIG.epoch,
        from: ms_member,
        round: 1,
        nonce: [4; 16],
    };
    s.add(
        "probe",
        "challenge",
        encode(&ProbeMsg::Challenge(c, key(i).sign(&c))),
    );
    s.add("probe", "answer", encode(&probe::answer(&key(2), &c)));
    let news = EpochNews {
        cert: epoch_cert(&NEXT, DELTA.hash()),
        delta: DELTA.clone(),
    };
    s.add("epoch_news", "next", encode(&news));
    let stale = EpochNews {
        cert: *CONFIG_CERT,
        delta: Delta::between(&NEXT, &CONFIG),
    };
    s.add("epoch_news", "old", encode(&stale));
    s.add("config_delta", "next", encode(&*DELTA));
    s.add(
        "config_delta",
        "back",
        encode(&Delta::between(&NEXT, &CONFIG)),
    );
    let mut revoking = CONFIG.clone();
    revoking.epoch = Epoch(2);
    revoking
        .revoked
        .insert(ClientId::of(&client().public()), Timestamp(5));
    s.add(
        "config_delta",
        "revoke",
        encode(&Delta::between(&CONFIG, &revoking)),
    );
    s.add("configuration", "current", CONFIG.to_bytes());
    s.add("configuration", "next", NEXT.to_bytes());
    s.add("configuration", "revoked", revoking.to_bytes());
    let mut seven: Configuration = configuration(3, 7);
    seven.f = 2;
    s.add("configuration", "seven", seven.to_bytes());
}

fn certificates(s: &mut Seeds) {
    let certs = [
        ("add", add_cert(MEMBERS + 1)),
        ("remove", cert(CertBody::Remove { node: member_id(4) })),
        ("client", CREDENTIAL.clone()),
        (
            "revoke",
            cert(CertBody::Revoke {
                client: ClientId::of(&client().public()),
            }),
        ),
    ];
    for (name, c) in certs {
        s.add("certificate", name, c.to_bytes());
        s.add(
            "file_certificate",
            name,
            file_bytes("rampart-certificate/1", &c.to_bytes()),
        );
    }
    let token = AnalystToken::sign(
        &client(),
        CREDENTIAL.clone(),
        gate().me,
        NOW.plus_secs(3600),
        [7; 16],
    );
    s.add("analyst_token", "token", token.to_hex().into_bytes());
}

/// Writes a file with `write` into a scratch directory and returns its bytes.
fn written(
    name: &str,
    write: impl FnOnce(&std::path::Path) -> Result<(), bootstrap::FileError>,
) -> Vec<u8> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("rampart-fuzz-seeds-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let path = dir.join(name);
    write(&path).expect("writing a seed file");
    let bytes = std::fs::read(&path).expect("reading a seed file back");
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

fn files(s: &mut Seeds) {
    use bootstrap::files::Overwrite::Replace;
    use bootstrap::{admission, bundle, credential, keyfile, registry};
    let cred = credential::Credential {
        key: client(),
        cert: CREDENTIAL.clone(),
    };
    s.add(
        "file_credential",
        "client",
        written("cred", |p| credential::write(p, &cred, Replace)),
    );
    s.add(
        "file_key",
        "secret",
        written("key", |p| keyfile::write(p, &key(1), Replace)),
    );
    s.add(
        "file_key",
        "public",
        written("key.pub", |p| {
            keyfile::write_public(p, &key(1).public(), Replace)
        }),
    );
    let holder = CONFIG.ms_group[0];
    let i = (1..=MEMBERS)
        .find(|i| member_id(*i) == holder)
        .expect("its key");
    let b = bundle::Bundle {
        node: holder,
        authority: *AUTHORITY,
        ms_key: *MS_KEY,
        ms_public: MS_PUBLIC.clone(),
        config: CONFIG.clone(),
        cert: *CONFIG_CERT,
        share: Some(share(i).serialize().expect("a key package serialises")),
        time: T0,
    };
    s.add(
        "file_bundle",
        "holder",
        written("bundle", |p| bundle::write(p, &b, Replace)),
    );
    let mut member_only = b.clone();
    member_only.share = None;
    s.add(
        "file_bundle",
        "member",
        written("bundle", |p| bundle::write(p, &member_only, Replace)),
    );
    let a = admission::Admission {
        cert: add_cert(MEMBERS + 1),
        authority: *AUTHORITY,
        ms_key: *MS_KEY,
    };
    s.add(
        "file_admission",
        "add",
        written("admission", |p| admission::write(p, &a, Replace)),
    );
    let reg = registry::Registry {
        records: vec![
            registry::Record {
                cert_id: add_cert(MEMBERS + 1).id().to_hex(),
                kind: "add".into(),
                subject: member_id(MEMBERS + 1).0.to_hex(),
                key: Some(Hash(key(MEMBERS + 1).public().to_bytes()).to_hex()),
                name: None,
                contact: None,
                caps: None,
                addrs: member(MEMBERS + 1).addrs,
                issued_at: T0.0,
                not_after: T0.0 + 86_400,
                file: "nodes/n5.cert".into(),
            },
            registry::Record {
                cert_id: CREDENTIAL.id().to_hex(),
                kind: "client".into(),
                subject: ClientId::of(&client().public()).0.to_hex(),
                key: Some(Hash(client().public().to_bytes()).to_hex()),
                name: Some("fuzz".into()),
                contact: Some("fuzz@example.org".into()),
                caps: Some("put,get,analyze".into()),
                addrs: vec![],
                issued_at: T0.0,
                not_after: T0.0 + 86_400,
                file: "clients/fuzz.cred".into(),
            },
        ],
    };
    s.add(
        "file_registry",
        "two",
        written("registry.json", |p| reg.save(p)),
    );
    s.add("file_registry", "empty", b"{\"records\":[]}".to_vec());
}

/// `ms::State`'s encoding, field by field, to make states no MS would hand over.
#[derive(serde::Serialize, serde::Deserialize)]
struct StateFields {
    authority: overlay::crypto::PublicKey,
    config: Configuration,
    seed: Hash,
    now: Timestamp,
    pending: overlay::ms::Pending,
    used: std::collections::BTreeMap<Hash, Timestamp>,
    ms_public: Vec<u8>,
    handover: Option<overlay::ms::Handover>,
}

/// Inputs that crashed a target before the fix, kept as regressions.
fn crashes(s: &mut Seeds) {
    // A status report whose latency buckets overflow when summed: `OpLatency::cumulative`
    // panicked (debug builds) on a peer's report.
    let mut l = OpLatency::new("read");
    l.buckets[0] = u64::MAX;
    l.buckets[1] = 1;
    let mut report = status_report();
    if let Some(store) = report.store.as_mut() {
        store.latency = vec![l];
    }
    s.crash(
        "control_response",
        "status-cumulative-overflow",
        Response::Status(Box::new(report)).to_bytes(),
    );
    // An MS state whose handover counts more dealings checked than it holds: the next
    // `Ready` made `Handover::finalize` slice past the dealings.
    let mut st: StateFields =
        overlay::encoding::decode(&encode(&*HANDOVER_STATE), usize::MAX).expect("a state");
    if let Some(h) = st.handover.as_mut() {
        for n in h.new_holders.iter().map(NodeId::of) {
            h.ready.insert(n, 100);
        }
    }
    s.crash("ms_state", "handover-ready-beyond-dealings", encode(&st));
}

/// Every seed and regression input.
pub fn all() -> Vec<Seed> {
    let mut s = Seeds(Vec::new());
    control(&mut s);
    store(&mut s);
    transfer(&mut s);
    pbft(&mut s);
    ms(&mut s);
    tsig(&mut s);
    gossip(&mut s);
    certificates(&mut s);
    files(&mut s);
    crashes(&mut s);
    s.0
}
