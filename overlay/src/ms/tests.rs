use std::collections::BTreeMap;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;
use crate::cert::{CertBody, CertContent, Certificate};
use crate::config::{Configuration, Member, choose_ms_group};
use crate::crypto::SecretKey;
use crate::id::{ClientId, Epoch, Hash, NodeId};
use crate::time::Timestamp;

const T0: Timestamp = Timestamp(1_000_000);

fn key(seed: u64) -> SecretKey {
    SecretKey::generate(&mut ChaCha20Rng::seed_from_u64(seed))
}

fn member(seed: u64) -> Member {
    Member {
        key: key(seed).public(),
        addrs: vec![format!("/ip4/127.0.0.1/tcp/{}", 7000 + seed)],
    }
}

fn genesis(n: u64) -> Configuration {
    let mut members: Vec<Member> = (1..=n).map(member).collect();
    members.sort_by_key(Member::id);
    let ids: Vec<NodeId> = members.iter().map(Member::id).collect();
    Configuration {
        epoch: Epoch(0),
        ms_group: choose_ms_group(&ids, 1, &Hash::default()),
        members,
        f: 1,
        f_ms: 1,
        vnodes: 4,
        revoked: BTreeMap::new(),
    }
}

fn authority() -> SecretKey {
    key(999)
}

fn cert(body: CertBody) -> Certificate {
    let content = CertContent {
        body,
        issued_at: T0,
        not_before: T0,
        not_after: T0.plus_secs(86_400),
    };
    Certificate::issue(&authority(), content)
}

fn state(n: u64) -> State {
    State::new(authority().public(), genesis(n), Hash::default(), T0)
}

fn ms_key(s: &State, i: usize) -> SecretKey {
    let id = s.config().ms_group[i];
    (1..=20)
        .map(key)
        .find(|k| NodeId::of(&k.public()) == id)
        .unwrap()
}

fn epoch(s: &mut State) -> Configuration {
    match s
        .apply(
            &key(1).public(),
            Op::NewEpoch {
                now: T0.plus_secs(10),
            },
        )
        .unwrap()
    {
        Outcome::Epoch { config, delta, .. } => {
            let next = *config;
            assert_eq!(next.hash(), delta.to_hash);
            next
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_admitted_node_joins_at_the_next_epoch_and_the_delta_applies() {
    let mut s = state(4);
    let before = s.config().clone();
    let newcomer = member(10);
    let add = Op::Add(cert(CertBody::Add {
        node: newcomer.key,
        addrs: newcomer.addrs.clone(),
    }));
    assert_eq!(s.apply(&newcomer.key, add), Ok(Outcome::Queued));
    let Outcome::Epoch {
        config,
        delta,
        epoch,
    } = s
        .apply(
            &key(1).public(),
            Op::NewEpoch {
                now: T0.plus_secs(10),
            },
        )
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(epoch, Epoch(1));
    assert!(config.member(&newcomer.id()).is_some());
    assert_eq!(delta.apply(&before).unwrap(), *config);
    assert_eq!(config.ms_group.len(), 4);
}

#[test]
fn replayed_expired_foreign_and_wrong_kind_certificates_leave_the_state_unchanged() {
    let mut s = state(4);
    let m = member(10);
    let add = cert(CertBody::Add {
        node: m.key,
        addrs: m.addrs.clone(),
    });
    s.apply(&m.key, Op::Add(add.clone())).unwrap();
    epoch(&mut s);
    let snapshot = s.clone();
    // The same certificate again, after the node joined.
    assert!(s.apply(&m.key, Op::Add(add.clone())).is_err());
    // Expired.
    let old = Certificate::issue(
        &authority(),
        CertContent {
            body: CertBody::Add {
                node: member(11).key,
                addrs: member(11).addrs,
            },
            issued_at: Timestamp(1),
            not_before: Timestamp(1),
            not_after: Timestamp(2),
        },
    );
    assert!(
        matches!(s.apply(&m.key, Op::Add(old)), Err(MsError::Cert(e)) if e.contains("expired"))
    );
    // Signed by someone else.
    let foreign = Certificate::issue(&key(5), add.content.clone());
    assert!(
        matches!(s.apply(&m.key, Op::Add(foreign)), Err(MsError::Cert(e)) if e.contains("wrong authority"))
    );
    // A removal certificate offered as an admission.
    let rm = cert(CertBody::Remove {
        node: member(1).id(),
    });
    assert!(matches!(
        s.apply(&m.key, Op::Add(rm)),
        Err(MsError::WrongKind { .. })
    ));
    assert_eq!(s, snapshot);
}

#[test]
fn a_replayed_certificate_is_refused_within_one_epoch() {
    let mut s = state(4);
    let rm = cert(CertBody::Remove {
        node: member(1).id(),
    });
    s.apply(&key(1).public(), Op::Remove(rm.clone())).unwrap();
    assert_eq!(
        s.apply(&key(1).public(), Op::Remove(rm)),
        Err(MsError::Replayed)
    );
}

#[test]
fn removing_a_stranger_is_refused_and_a_removed_member_leaves() {
    let mut s = state(5);
    let stranger = member(42).id();
    assert_eq!(
        s.apply(
            &key(1).public(),
            Op::Remove(cert(CertBody::Remove { node: stranger }))
        ),
        Err(MsError::NotMember(stranger))
    );
    let gone = member(3).id();
    s.apply(
        &key(1).public(),
        Op::Remove(cert(CertBody::Remove { node: gone })),
    )
    .unwrap();
    let next = epoch(&mut s);
    assert!(next.member(&gone).is_none());
    assert_eq!(next.members.len(), 4);
}

#[test]
fn the_system_never_shrinks_below_3f_plus_1() {
    let mut s = state(4);
    s.apply(
        &key(1).public(),
        Op::Remove(cert(CertBody::Remove {
            node: member(2).id(),
        })),
    )
    .unwrap();
    let snapshot = s.clone();
    let r = s.apply(
        &key(1).public(),
        Op::NewEpoch {
            now: T0.plus_secs(5),
        },
    );
    assert!(matches!(r, Err(MsError::Invalid(_))), "{r:?}");
    assert_eq!(s, snapshot);
}

#[test]
fn f_ms_plus_1_distinct_reports_from_ms_replicas_evict_a_node() {
    let mut s = state(6);
    let target = *s
        .config()
        .members
        .iter()
        .map(|m| m.id())
        .collect::<Vec<_>>()
        .iter()
        .find(|id| !s.config().in_ms_group(id))
        .unwrap();
    // A node outside the MS group cannot report.
    let outsider = (1..=6)
        .map(key)
        .find(|k| !s.config().in_ms_group(&NodeId::of(&k.public())))
        .unwrap();
    assert_eq!(
        s.apply(&outsider.public(), Op::Unresponsive { node: target }),
        Err(MsError::NotReporter)
    );
    // One MS replica reporting twice is still one report.
    let r0 = ms_key(&s, 0);
    s.apply(&r0.public(), Op::Unresponsive { node: target })
        .unwrap();
    s.apply(&r0.public(), Op::Unresponsive { node: target })
        .unwrap();
    assert!(
        !s.leaving().contains(&target),
        "f_ms = 1 report is not enough"
    );
    s.apply(&ms_key(&s, 1).public(), Op::Unresponsive { node: target })
        .unwrap();
    assert!(s.leaving().contains(&target));
    let next = epoch(&mut s);
    assert!(next.member(&target).is_none());
}

fn statement(k: &SecretKey, slot: u8, content: u8) -> (Statement, crate::crypto::Signature) {
    let st = Statement {
        signer: k.public(),
        slot: Hash([slot; 32]),
        content: Hash([content; 32]),
    };
    let sig = k.sign(&st);
    (st, sig)
}

#[test]
fn evidence_of_equivocation_evicts_a_node_or_revokes_a_client() {
    let mut s = state(5);
    let node = key(2);
    let ev = Evidence {
        a: statement(&node, 1, 1),
        b: statement(&node, 1, 2),
    };
    assert_eq!(
        s.apply(&key(9).public(), Op::Misbehaviour(ev)),
        Ok(Outcome::Queued)
    );
    let client = key(77);
    let ev = Evidence {
        a: statement(&client, 3, 1),
        b: statement(&client, 3, 2),
    };
    s.apply(&key(9).public(), Op::Misbehaviour(ev)).unwrap();
    let next = epoch(&mut s);
    assert!(next.member(&NodeId::of(&node.public())).is_none());
    assert!(next.revoked.contains_key(&ClientId::of(&client.public())));
}

#[test]
fn evidence_that_proves_nothing_is_refused() {
    let mut s = state(4);
    let k = key(2);
    let same = Evidence {
        a: statement(&k, 1, 1),
        b: statement(&k, 1, 1),
    };
    assert_eq!(
        s.apply(&k.public(), Op::Misbehaviour(same)),
        Err(MsError::BadEvidence)
    );
    let other_slot = Evidence {
        a: statement(&k, 1, 1),
        b: statement(&k, 2, 2),
    };
    assert_eq!(
        s.apply(&k.public(), Op::Misbehaviour(other_slot)),
        Err(MsError::BadEvidence)
    );
    let mut forged = Evidence {
        a: statement(&k, 1, 1),
        b: statement(&k, 1, 2),
    };
    forged.b.0.content = Hash([9; 32]);
    assert_eq!(
        s.apply(&k.public(), Op::Misbehaviour(forged)),
        Err(MsError::BadEvidence)
    );
}

#[test]
fn a_revoked_client_stays_revoked_until_its_revocation_expires() {
    let mut s = state(4);
    let c = ClientId::of(&key(50).public());
    s.apply(
        &key(1).public(),
        Op::Revoke(cert(CertBody::Revoke { client: c })),
    )
    .unwrap();
    let next = epoch(&mut s);
    assert!(next.revoked.contains_key(&c));
    let again = Certificate::issue(
        &authority(),
        CertContent {
            body: CertBody::Revoke { client: c },
            issued_at: T0.plus_secs(1),
            not_before: T0.plus_secs(1),
            not_after: T0.plus_secs(86_400),
        },
    );
    assert_eq!(
        s.apply(&key(1).public(), Op::Revoke(again)),
        Err(MsError::AlreadyRevoked(c))
    );
    let later = s
        .apply(
            &key(1).public(),
            Op::NewEpoch {
                now: T0.plus_secs(2 * 86_400),
            },
        )
        .unwrap();
    let Outcome::Epoch { config, .. } = later else {
        panic!()
    };
    assert!(
        !config.revoked.contains_key(&c),
        "expired revocations are dropped"
    );
}

#[test]
fn the_ms_clock_never_goes_back() {
    let mut s = state(4);
    epoch(&mut s);
    assert!(matches!(
        s.apply(&key(1).public(), Op::NewEpoch { now: T0 }),
        Err(MsError::TimeBackwards { .. })
    ));
}

#[test]
fn as_a_pbft_application_it_admits_members_and_the_authority_only() {
    use crate::pbft::Application;
    let app = MsApp { state: state(4) };
    assert!(app.admits(&authority().public()));
    assert!(app.admits(&member(1).key));
    assert!(!app.admits(&member(10).key));
}

#[test]
fn executing_an_encoded_operation_returns_a_receipt_and_snapshots_round_trip() {
    use crate::pbft::Application;
    let mut app = MsApp { state: state(4) };
    let m = member(10);
    let op = MsApp::encode_op(&Op::Add(cert(CertBody::Add {
        node: m.key,
        addrs: m.addrs.clone(),
    })));
    let r = app.execute(&member(1).key, &op);
    assert_eq!(MsApp::decode_receipt(&r), Some(Receipt::Queued));
    let r = app.execute(&member(1).key, &op);
    assert_eq!(
        MsApp::decode_receipt(&r),
        Some(Receipt::Refused(MsError::Replayed))
    );
    let r = app.execute(&member(1).key, &[0xff, 0x00, 0x13]);
    assert!(matches!(
        MsApp::decode_receipt(&r),
        Some(Receipt::Malformed(_))
    ));
    let snap = app.snapshot();
    let mut other = MsApp { state: state(5) };
    other.restore(&snap).unwrap();
    assert_eq!(other, app);
    let r = app.execute(
        &member(1).key,
        &MsApp::encode_op(&Op::NewEpoch {
            now: T0.plus_secs(1),
        }),
    );
    assert!(matches!(
        MsApp::decode_receipt(&r),
        Some(Receipt::Epoch {
            epoch: Epoch(1),
            ..
        })
    ));
}
