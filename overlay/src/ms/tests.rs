use std::collections::{BTreeMap, BTreeSet};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;
use crate::cert::{CertBody, CertContent, Certificate};
use crate::config::{Configuration, Member, choose_ms_group};
use crate::crypto::SecretKey;
use crate::epoch::EpochCert;
use crate::id::{ClientId, Epoch, Hash, NodeId};
use crate::threshold::{KeyPackage, PublicKeyPackage};
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
    let config = genesis(n);
    let public = ms_public(&config);
    State::new(authority().public(), config, Hash::default(), T0, public)
}

/// The public package of a key dealt to `config`'s MS group (deterministically).
fn ms_public(config: &Configuration) -> Vec<u8> {
    let dealt = crate::threshold::deal(
        &config.ms_group,
        config.f_ms,
        &mut ChaCha20Rng::seed_from_u64(config.members.len() as u64),
    )
    .unwrap();
    dealt.public.serialize().unwrap()
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
                closing: Epoch(0),
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
                closing: Epoch(0),
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
            closing: Epoch(0),
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
    let ev = Evidence::Statements {
        a: statement(&node, 1, 1),
        b: statement(&node, 1, 2),
    };
    assert_eq!(
        s.apply(&key(9).public(), Op::Misbehaviour(ev)),
        Ok(Outcome::Queued)
    );
    let client = key(77);
    let ev = Evidence::Statements {
        a: statement(&client, 3, 1),
        b: statement(&client, 3, 2),
    };
    s.apply(&key(9).public(), Op::Misbehaviour(ev)).unwrap();
    let next = epoch(&mut s);
    assert!(next.member(&NodeId::of(&node.public())).is_none());
    assert!(next.revoked.contains_key(&ClientId::of(&client.public())));
}

#[test]
fn an_owner_signing_two_values_for_one_version_is_revoked_once() {
    use crate::dbqs::object::Version;
    let mut s = state(4);
    let client = key(70);
    let stamp = |v: &[u8], n: u64| {
        let ver = Version::sign(&client, b"doc", n, Some(v.to_vec()));
        (ver.stamp, ver.sig)
    };
    let honest = Evidence::Versions {
        a: stamp(b"one", 1),
        b: stamp(b"two", 2),
    };
    assert_eq!(
        s.apply(&key(9).public(), Op::Misbehaviour(honest)),
        Err(MsError::BadEvidence),
        "two versions with different numbers prove nothing"
    );
    let ev = Evidence::Versions {
        a: stamp(b"one", 3),
        b: stamp(b"two", 3),
    };
    assert_eq!(ev.culprit(s.config()), Some(client.public()));
    s.apply(&key(9).public(), Op::Misbehaviour(ev.clone()))
        .unwrap();
    let next = epoch(&mut s);
    assert!(next.revoked.contains_key(&ClientId::of(&client.public())));
    assert_eq!(
        s.apply(&key(9).public(), Op::Misbehaviour(ev)),
        Err(MsError::AlreadyRevoked(ClientId::of(&client.public()))),
        "reports from the other replicas change nothing"
    );
}

#[test]
fn an_ms_replica_signing_two_prepares_for_one_step_is_evicted() {
    use crate::pbft::{Config, Payload, ReplicaIdx, Seq, Signed, View};
    let mut s = state(5);
    let cfg = Config::for_ms(s.config());
    let liar = ms_key(&s, 1);
    let prepare = |digest: u8, seq: u64| {
        Box::new(Signed::sign(
            &liar,
            &cfg.instance,
            ReplicaIdx(1),
            Payload::Prepare {
                view: View(0),
                seq: Seq(seq),
                digest: Hash([digest; 32]),
            },
        ))
    };
    let other_steps = Evidence::Pbft {
        a: prepare(1, 1),
        b: prepare(2, 2),
    };
    assert_eq!(
        s.apply(&key(9).public(), Op::Misbehaviour(other_steps)),
        Err(MsError::BadEvidence)
    );
    let mut wrong_index = prepare(2, 1);
    wrong_index.from = ReplicaIdx(2);
    let framed = Evidence::Pbft {
        a: prepare(1, 1),
        b: wrong_index,
    };
    assert_eq!(
        s.apply(&key(9).public(), Op::Misbehaviour(framed)),
        Err(MsError::BadEvidence),
        "a message claimed for another replica does not verify"
    );
    let ev = Evidence::Pbft {
        a: prepare(1, 1),
        b: prepare(2, 1),
    };
    assert_eq!(ev.culprit(s.config()), Some(liar.public()));
    s.apply(&key(9).public(), Op::Misbehaviour(ev)).unwrap();
    let next = epoch(&mut s);
    assert!(next.member(&NodeId::of(&liar.public())).is_none());
}

#[test]
fn evidence_that_proves_nothing_is_refused() {
    let mut s = state(4);
    let k = key(2);
    let same = Evidence::Statements {
        a: statement(&k, 1, 1),
        b: statement(&k, 1, 1),
    };
    assert_eq!(
        s.apply(&k.public(), Op::Misbehaviour(same)),
        Err(MsError::BadEvidence)
    );
    let other_slot = Evidence::Statements {
        a: statement(&k, 1, 1),
        b: statement(&k, 2, 2),
    };
    assert_eq!(
        s.apply(&k.public(), Op::Misbehaviour(other_slot)),
        Err(MsError::BadEvidence)
    );
    let mut b = statement(&k, 1, 2);
    b.0.content = Hash([9; 32]);
    let forged = Evidence::Statements {
        a: statement(&k, 1, 1),
        b,
    };
    assert_eq!(
        s.apply(&k.public(), Op::Misbehaviour(forged)),
        Err(MsError::BadEvidence)
    );
}

#[test]
fn a_revoked_client_stays_revoked_until_its_revocation_expires() {
    let (mut s, secrets, shares) = system(7);
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let c = ClientId::of(&key(50).public());
    s.apply(
        &key(1).public(),
        Op::Revoke(cert(CertBody::Revoke { client: c })),
    )
    .unwrap();
    change_epoch(&mut s, &secrets, shares, Faults::default(), &mut rng);
    assert!(s.config().revoked.contains_key(&c));
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
    let proposer = secrets[&s.config().ms_group[0]].public();
    let later = s
        .apply(
            &proposer,
            Op::NewEpoch {
                closing: Epoch(1),
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
    let (mut s, secrets, shares) = system(7);
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    change_epoch(&mut s, &secrets, shares, Faults::default(), &mut rng);
    let proposer = secrets[&s.config().ms_group[0]].public();
    assert!(matches!(
        s.apply(
            &proposer,
            Op::NewEpoch {
                closing: Epoch(1),
                now: T0
            }
        ),
        Err(MsError::TimeBackwards { .. })
    ));
    // Only MS replicas propose epochs, and only for the current one.
    let outsider = secrets
        .iter()
        .find(|(id, _)| !s.config().in_ms_group(id))
        .map(|(_, k)| k.public())
        .unwrap();
    let later = T0.plus_secs(3600);
    assert_eq!(
        s.apply(
            &outsider,
            Op::NewEpoch {
                closing: Epoch(1),
                now: later
            }
        ),
        Err(MsError::NotReporter)
    );
    assert!(matches!(
        s.apply(
            &proposer,
            Op::NewEpoch {
                closing: Epoch(0),
                now: later
            }
        ),
        Err(MsError::NotCurrent { .. })
    ));
}

#[test]
fn as_a_pbft_application_it_admits_members_and_the_authority_only() {
    use crate::pbft::Application;
    let app = MsApp::new(state(4));
    assert!(app.admits(&authority().public()));
    assert!(app.admits(&member(1).key));
    assert!(!app.admits(&member(10).key));
}

#[test]
fn executing_an_encoded_operation_returns_a_receipt_and_snapshots_round_trip() {
    use crate::pbft::Application;
    let mut app = MsApp::new(state(4));
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
    let mut other = MsApp::new(state(5));
    other.restore(&snap).unwrap();
    assert_eq!(other, app);
    let r = app.execute(
        &member(1).key,
        &MsApp::encode_op(&Op::NewEpoch {
            closing: Epoch(0),
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

/// Members 1..=n with their secret keys, the state, and the MS key's shares.
fn system(
    n: u64,
) -> (
    State,
    BTreeMap<NodeId, SecretKey>,
    BTreeMap<NodeId, KeyPackage>,
) {
    let config = genesis(n);
    let dealt = crate::threshold::deal(
        &config.ms_group,
        config.f_ms,
        &mut ChaCha20Rng::seed_from_u64(77),
    )
    .unwrap();
    let public = dealt.public.serialize().unwrap();
    let secrets = (1..=n)
        .map(|i| (NodeId::of(&key(i).public()), key(i)))
        .collect();
    let s = State::new(authority().public(), config, Hash::default(), T0, public);
    (s, secrets, dealt.shares)
}

/// Who misbehaves in one handover.
#[derive(Default, Clone, Copy)]
struct Faults {
    /// An old holder that seals a wrong value to the first new holder and never reveals.
    liar: bool,
    /// A new holder that complains about an honest dealer.
    false_complaint: bool,
}

/// Runs one epoch change with its handover through the MS operations, the way the nodes do.
fn change_epoch(
    s: &mut State,
    secrets: &BTreeMap<NodeId, SecretKey>,
    shares: BTreeMap<NodeId, KeyPackage>,
    faults: Faults,
    rng: &mut ChaCha20Rng,
) -> BTreeMap<NodeId, KeyPackage> {
    let ms_key = s.ms_key().unwrap();
    let old_group = s.config().ms_group.clone();
    let proposer = secrets[&old_group[0]].public();
    let closing = s.config().epoch;
    let now = s.now().plus_secs(60);
    assert!(matches!(
        s.apply(&proposer, Op::NewEpoch { closing, now }),
        Ok(Outcome::Epoch { .. })
    ));
    // A second proposal for the same epoch is refused, not a second epoch.
    assert!(s.apply(&proposer, Op::NewEpoch { closing, now }).is_err());
    let h = s.handover().unwrap().clone();
    let new_group = s.config().ms_group.clone();
    let liar = faults.liar.then(|| old_group[1]);
    let mut ephemerals = BTreeMap::new();
    for (id, k) in &shares {
        let (mut op, eph) = roles::deal(&h, *id, k, rng).unwrap();
        if Some(*id) == liar
            && let Op::Deal(d) = &mut op
        {
            d.sealed[0].masked[0] ^= 1;
        }
        s.apply(&secrets[id].public(), op).unwrap();
        ephemerals.insert(*id, eph);
    }
    if faults.false_complaint {
        let honest = old_group.iter().find(|o| Some(**o) != liar).unwrap();
        s.apply(
            &secrets[&new_group[3]].public(),
            Op::Complain { dealer: *honest },
        )
        .unwrap();
    }
    for j in &new_group {
        for op in roles::check(s.handover().unwrap(), &secrets[j], 0).unwrap() {
            s.apply(&secrets[j].public(), op).unwrap();
        }
    }
    for (id, eph) in &ephemerals {
        if Some(*id) == liar {
            continue;
        }
        for op in roles::reveals(s.handover().unwrap(), id, eph) {
            s.apply(&secrets[id].public(), op).unwrap();
        }
    }
    let h = s.handover().unwrap().clone();
    let chosen = h.chosen.clone().expect("the dealers are fixed");
    assert!(
        liar.is_none_or(|l| !chosen.contains(&l)),
        "the liar was chosen"
    );
    // The old group signs the new epoch with its old shares.
    let old_public = PublicKeyPackage::deserialize(&h.old_public).unwrap();
    let signers: Vec<&KeyPackage> = shares.values().take(2).collect();
    let signature = crate::threshold::sign_locally(
        &signers,
        &old_public,
        &crate::encoding::domain_bytes(&h.statement),
        rng,
    )
    .unwrap();
    let cert = EpochCert {
        statement: h.statement,
        signature,
    };
    // A certificate for something else is refused.
    let mut wrong = cert;
    wrong.statement.epoch = Epoch(99);
    assert!(s.apply(&proposer, Op::Certified(wrong)).is_err());
    s.apply(&secrets[&new_group[0]].public(), Op::Certified(cert))
        .unwrap();
    assert!(s.handover().unwrap().is_complete());
    assert_eq!(s.ms_key().unwrap(), ms_key, "the MS key changed");
    cert.verify(&ms_key).unwrap();
    let mut next = BTreeMap::new();
    for j in &new_group {
        let k = roles::new_share(s.handover().unwrap(), &secrets[j])
            .unwrap()
            .expect("dealers fixed");
        next.insert(*j, k);
    }
    // Old holders that left the group can no longer submit handover steps.
    for o in old_group.iter().filter(|o| !new_group.contains(o)) {
        assert!(
            s.apply(&secrets[o].public(), Op::Ready { checked: 0 })
                .is_err()
        );
    }
    next
}

#[test]
fn the_ms_group_rotates_and_keeps_its_key_with_byzantine_participants() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let (mut s, secrets, mut shares) = system(7);
    let ms_key = s.ms_key().unwrap();
    let mut groups = vec![s.config().ms_group.clone()];
    for round in 0..6 {
        let faults = Faults {
            liar: round % 2 == 1,
            false_complaint: round % 3 == 2,
        };
        shares = change_epoch(&mut s, &secrets, shares, faults, &mut rng);
        groups.push(s.config().ms_group.clone());
        // The new group signs under the same key.
        let public = PublicKeyPackage::deserialize(s.ms_public()).unwrap();
        let two: Vec<&KeyPackage> = shares.values().take(2).collect();
        let sig = crate::threshold::sign_locally(&two, &public, b"after", &mut rng).unwrap();
        ms_key.verify_strict(b"after", &sig).unwrap();
    }
    groups.dedup();
    assert!(groups.len() >= 3, "the MS group should rotate: {groups:?}");
}

#[test]
fn handover_steps_from_outsiders_or_out_of_turn_are_refused() {
    let (mut s, secrets, shares) = system(7);
    let outsider = key(50);
    assert_eq!(
        s.apply(&outsider.public(), Op::Ready { checked: 0 }),
        Err(MsError::NoHandover)
    );
    let old_group = s.config().ms_group.clone();
    let proposer = secrets[&old_group[0]].public();
    s.apply(
        &proposer,
        Op::NewEpoch {
            closing: Epoch(0),
            now: T0.plus_secs(1),
        },
    )
    .unwrap();
    let h = s.handover().unwrap().clone();
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let (op, _) = roles::deal(&h, old_group[0], &shares[&old_group[0]], &mut rng).unwrap();
    // Someone else's dealing cannot be submitted in its name.
    let before = s.clone();
    assert!(matches!(
        s.apply(&secrets[&old_group[1]].public(), op.clone()),
        Err(MsError::Reshare(_))
    ));
    assert_eq!(s, before, "a refused step changed the state");
    s.apply(&proposer, op.clone()).unwrap();
    assert!(s.apply(&proposer, op).is_err(), "dealt twice");
    // Readiness beyond what was ordered, or from a non-member of the new group, is refused.
    let new_group = s.config().ms_group.clone();
    assert!(matches!(
        s.apply(&secrets[&new_group[0]].public(), Op::Ready { checked: 5 }),
        Err(MsError::Reshare(_))
    ));
    if let Some(not_new) = secrets.keys().find(|id| !new_group.contains(id)) {
        assert!(
            s.apply(&secrets[not_new].public(), Op::Ready { checked: 1 })
                .is_err()
        );
    }
    // No new epoch while the handover is open.
    assert!(matches!(
        s.apply(
            &secrets[&new_group[0]].public(),
            Op::NewEpoch {
                closing: Epoch(1),
                now: T0.plus_secs(2),
            }
        ),
        Err(MsError::HandoverInProgress(Epoch(1)))
    ));
}

#[test]
fn an_instance_refuses_everything_once_it_has_handed_over() {
    use crate::pbft::Application;
    let (s, secrets, shares) = system(7);
    let mut old = MsApp::new(s.clone());
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let mut after = s;
    change_epoch(&mut after, &secrets, shares, Faults::default(), &mut rng);
    old.state = after.clone();
    let op = MsApp::encode_op(&Op::Revoke(cert(CertBody::Revoke {
        client: ClientId::of(&key(60).public()),
    })));
    let r = old.execute(&key(1).public(), &op);
    assert_eq!(
        MsApp::decode_receipt(&r),
        Some(Receipt::Refused(MsError::HandedOver(Epoch(1))))
    );
    assert_eq!(old.state, after, "a refused operation changed the state");
    let mut new = MsApp::new(after);
    let r = new.execute(&key(1).public(), &op);
    assert_eq!(MsApp::decode_receipt(&r), Some(Receipt::Queued));
}

/// Every correct replica executes the same operations in the same order, so one `MsApp`
/// stands for all of them; the drivers of the instance's replicas and of the new holders tick
/// against it, their submissions are executed in turn, and signing requests are served by the
/// old group's shares.
#[test]
fn drivers_carry_epochs_through_handovers_without_help() {
    use super::driver::{Driver, DriverAction, Local};
    use crate::pbft::Application;
    let (s, secrets, shares) = system(7);
    let ms_key = s.ms_key().unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(21);
    let mut drivers: BTreeMap<NodeId, Driver> = secrets
        .iter()
        .map(|(id, k)| {
            (
                *id,
                Driver::new(
                    SecretKey::from_seed(&k.seed()),
                    shares.get(id).cloned(),
                    1000,
                ),
            )
        })
        .collect();
    let mut holder_shares = shares;
    let mut app = MsApp::new(s);
    let mut adopted = Vec::new();
    let mut groups = vec![app.state.config().ms_group.clone()];
    let mut now_ms = 0u64;
    for round in 0..4u64 {
        // Something to do, or the epoch would not close.
        let c = ClientId::of(&key(100 + round).public());
        let op = MsApp::encode_op(&Op::Revoke(cert(CertBody::Revoke { client: c })));
        assert_eq!(
            MsApp::decode_receipt(&app.execute(&authority().public(), &op)),
            Some(Receipt::Queued)
        );
        let instance_group = app.state.config().ms_group.clone();
        let mut new_shares = BTreeMap::new();
        let mut finished = BTreeSet::new();
        for _ in 0..2000 {
            now_ms += 100;
            let mut tickers: Vec<NodeId> = instance_group.clone();
            if let Some(h) = app
                .state
                .handover()
                .filter(|h| h.statement.epoch != app.instance)
            {
                tickers.extend(h.new_holders.iter().map(NodeId::of));
            }
            tickers.sort();
            tickers.dedup();
            for id in tickers {
                let local = Local {
                    app: &app,
                    primary: id == instance_group[0],
                    index: instance_group.iter().position(|g| *g == id).unwrap_or(0) as u32,
                };
                let now = T0.plus_secs(now_ms / 1000);
                let actions = drivers
                    .get_mut(&id)
                    .unwrap()
                    .tick(now_ms, now, &local, &mut rng);
                for a in actions {
                    let mut ops = Vec::new();
                    match a {
                        DriverAction::Submit(op) => ops.push(*op),
                        DriverAction::SignEpoch {
                            statement,
                            public,
                            threshold,
                            ..
                        } => {
                            let public = PublicKeyPackage::deserialize(&public).unwrap();
                            let signers: Vec<&KeyPackage> =
                                holder_shares.values().take(threshold as usize).collect();
                            let signature = crate::threshold::sign_locally(
                                &signers,
                                &public,
                                &crate::encoding::domain_bytes(&statement),
                                &mut rng,
                            )
                            .unwrap();
                            let d = drivers.get_mut(&id).unwrap();
                            for a in d.signed(EpochCert {
                                statement,
                                signature,
                            }) {
                                if let DriverAction::Submit(op) = a {
                                    ops.push(*op);
                                }
                            }
                        }
                        DriverAction::NewShare { key, .. } => {
                            new_shares.insert(id, *key);
                        }
                        DriverAction::Adopt { config, cert, .. } => {
                            cert.verify(&ms_key).unwrap();
                            assert_eq!(cert.statement.config_hash, config.hash());
                            finished.insert(id);
                            adopted.push(config.epoch);
                        }
                    }
                    for op in ops {
                        let submitter = secrets[&id].public();
                        app.execute(&submitter, &MsApp::encode_op(&op));
                    }
                }
            }
            let everyone_done = app.handed_over()
                && instance_group
                    .iter()
                    .chain(&app.state.config().ms_group)
                    .all(|id| finished.contains(id));
            if everyone_done {
                break;
            }
        }
        assert!(
            app.handed_over(),
            "round {round}: the handover did not complete"
        );
        assert_eq!(app.state.config().epoch, Epoch(round + 1));
        assert_eq!(app.state.ms_key().unwrap(), ms_key);
        let new_group = app.state.config().ms_group.clone();
        assert_eq!(
            new_shares.keys().copied().collect::<Vec<_>>(),
            new_group,
            "every new holder built its share"
        );
        holder_shares = new_shares;
        groups.push(new_group);
        // The next group's instance starts from the state the old one handed over.
        app = MsApp::new(app.state.clone());
    }
    assert!(adopted.contains(&Epoch(4)));
    groups.dedup();
    assert!(groups.len() >= 3, "the MS group should rotate: {groups:?}");
}

#[test]
fn many_queued_changes_close_the_epoch_without_waiting_for_the_interval() {
    use super::driver::{CHANGES_MAX, Driver, DriverAction, Local};
    use crate::pbft::Application;
    let (s, secrets, shares) = system(7);
    let primary = s.config().ms_group[0];
    let mut d = Driver::new(
        SecretKey::from_seed(&secrets[&primary].seed()),
        shares.get(&primary).cloned(),
        3_600_000,
    );
    let mut app = MsApp::new(s);
    let proposes = |d: &mut Driver, app: &MsApp, now_ms: u64| {
        let local = Local {
            app,
            primary: true,
            index: 0,
        };
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        d.tick(now_ms, T0, &local, &mut rng)
            .iter()
            .any(|a| matches!(a, DriverAction::Submit(op) if matches!(**op, Op::NewEpoch { .. })))
    };
    let revoke = |i: u64| {
        MsApp::encode_op(&Op::Revoke(cert(CertBody::Revoke {
            client: ClientId::of(&key(10_000 + i).public()),
        })))
    };
    app.execute(&authority().public(), &revoke(0));
    assert!(
        !proposes(&mut d, &app, 1_000),
        "one change waits for the interval"
    );
    for i in 1..CHANGES_MAX as u64 {
        app.execute(&authority().public(), &revoke(i));
    }
    assert!(
        proposes(&mut d, &app, 2_000),
        "a full queue closes the epoch at once"
    );
}

#[test]
fn the_first_certificate_ordered_is_the_epochs() {
    let rng = &mut ChaCha20Rng::seed_from_u64(5);
    let g = genesis(5);
    let dealt = crate::threshold::deal(&g.ms_group, 1, rng).unwrap();
    let ms_key = crate::threshold::group_key(&dealt.public).unwrap();
    let statement = crate::epoch::EpochStatement {
        epoch: Epoch(1),
        config_hash: Hash([1; 32]),
        delta_hash: Hash([2; 32]),
    };
    let mut h = Handover::open(
        statement,
        dealt.public.serialize().unwrap(),
        g.ms_group.clone(),
        2,
        g.members.iter().map(|m| m.key).collect(),
        2,
    );
    let two: Vec<&KeyPackage> = dealt.shares.values().take(2).collect();
    let mut sign = || EpochCert {
        statement,
        signature: crate::threshold::sign_locally(
            &two,
            &dealt.public,
            &crate::encoding::domain_bytes(&statement),
            rng,
        )
        .unwrap(),
    };
    let (first, second) = (sign(), sign());
    assert_ne!(
        first.signature, second.signature,
        "FROST signatures are randomised"
    );
    h.certify(first, &ms_key).unwrap();
    assert!(h.certify(second, &ms_key).is_err());
    assert_eq!(h.cert, Some(first));
}

mod intake {
    use super::*;
    use crate::guard::{Refusal, ShareLimits};
    use crate::ms::intake::{IntakeCounts, IntakeRefusal, OrderIntake, Signers};
    use crate::pbft::{Request, SignedRequest};

    fn order(k: &SecretKey, timestamp: u64) -> SignedRequest {
        let request = Request {
            instance: Hash::default(),
            client: k.public(),
            timestamp,
            op: vec![1, 2, 3],
        };
        SignedRequest::sign(k, request)
    }

    const LIMITS: ShareLimits = ShareLimits {
        total: 8,
        per_party: 3,
        reserved: 3,
    };

    #[test]
    fn strangers_and_forged_signatures_take_no_room() {
        let config = genesis(4);
        let ms: BTreeSet<NodeId> = config.ms_group.iter().copied().collect();
        let who = Signers {
            authority: &authority().public(),
            config: &config,
            ms: &ms,
            anyone: false,
        };
        let mut intake = OrderIntake::new(LIMITS);
        let stranger = key(5_000);
        assert_eq!(
            intake.admit(&order(&stranger, 1), &who),
            Err(IntakeRefusal::NotAdmitted)
        );
        // A request naming the authority, signed by someone else.
        let mut forged = order(&stranger, 1);
        forged.request.client = authority().public();
        assert_eq!(
            intake.admit(&forged, &who),
            Err(IntakeRefusal::BadSignature)
        );
        assert_eq!(intake.held(), 0);
        let counts = intake.counts();
        assert_eq!((counts.not_admitted, counts.bad_signature), (1, 1));
        intake.admit(&order(&authority(), 1), &who).unwrap();
        assert_eq!(intake.held(), 1);
        // An application that admits anyone (PBFT's null one) still needs the signature.
        let open = Signers {
            anyone: true,
            ..who
        };
        intake.admit(&order(&stranger, 1), &open).unwrap();
        assert_eq!(
            intake.admit(&forged, &open),
            Err(IntakeRefusal::BadSignature)
        );
    }

    #[test]
    fn a_flooding_member_is_held_to_its_share_and_ms_replicas_keep_their_room() {
        let mut config = genesis(8);
        config.ms_group = config.members[..4].iter().map(Member::id).collect();
        let ms: BTreeSet<NodeId> = config.ms_group.iter().copied().collect();
        let who = Signers {
            authority: &authority().public(),
            config: &config,
            ms: &ms,
            anyone: false,
        };
        let by_id = |id: NodeId| (1..=8).map(key).find(|k| NodeId::of(&k.public()) == id);
        let ms_key = by_id(config.ms_group[0]).unwrap();
        let others: Vec<SecretKey> = config.members[4..]
            .iter()
            .map(|m| by_id(m.id()).unwrap())
            .collect();
        let mut intake = OrderIntake::new(LIMITS);
        for t in 0..3 {
            assert!(!intake.at_share(&others[0].public()));
            intake.admit(&order(&others[0], t), &who).unwrap();
        }
        assert!(intake.at_share(&others[0].public()));
        assert_eq!(
            intake.admit(&order(&others[0], 3), &who),
            Err(IntakeRefusal::Full(Refusal::PartyFull(3)))
        );
        intake.admit(&order(&others[1], 0), &who).unwrap();
        intake.admit(&order(&others[1], 1), &who).unwrap();
        // Five outsiders' entries fill what is not kept back.
        assert_eq!(
            intake.admit(&order(&others[2], 0), &who),
            Err(IntakeRefusal::Full(Refusal::TableFull(5)))
        );
        for t in 0..3 {
            intake.admit(&order(&ms_key, t), &who).unwrap();
        }
        intake.done(&others[0].public().to_bytes());
        intake.admit(&order(&others[2], 0), &who).unwrap();
        assert_eq!(
            intake.counts(),
            IntakeCounts {
                not_admitted: 0,
                bad_signature: 0,
                full: 2
            }
        );
        assert_eq!(intake.held(), 8);
    }
}
