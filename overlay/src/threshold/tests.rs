use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use super::nonces::Asker;
use super::reshare::{self, Plan, ReshareError};
use super::session::{CoordAction, Coordinator, SignMsg, SignRefusal, Signer};
use super::*;
use crate::crypto::SecretKey;
use crate::id::Hash;

fn own() -> Asker {
    Asker::own(Hash::default(), 0)
}

fn holders(n: u64, salt: u64) -> Vec<NodeId> {
    (0..n)
        .map(|i| NodeId(Hash::of(&[&i.to_be_bytes(), &salt.to_be_bytes()])))
        .collect()
}

#[test]
fn f_plus_one_shares_make_a_plain_ed25519_signature() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let hs = holders(4, 0);
    let dealt = deal(&hs, 1, &mut rng).unwrap();
    let key = group_key(&dealt.public).unwrap();
    let two: Vec<&KeyPackage> = dealt.shares.values().take(2).collect();
    let sig = sign_locally(&two, &dealt.public, b"hello", &mut rng).unwrap();
    key.verify_strict(b"hello", &sig).unwrap();
    assert!(key.verify_strict(b"other", &sig).is_err());
}

#[test]
fn f_shares_cannot_sign() {
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let hs = holders(4, 0);
    let dealt = deal(&hs, 1, &mut rng).unwrap();
    let one: Vec<&KeyPackage> = dealt.shares.values().take(1).collect();
    assert!(matches!(
        sign_locally(&one, &dealt.public, b"hello", &mut rng),
        Err(ThresholdError::TooFewShares { got: 1, need: 2 })
    ));
    // Lying about the threshold does not help: f shares interpolate to the wrong key.
    let k = one[0];
    let forged = KeyPackage::new(
        *k.identifier(),
        *k.signing_share(),
        *k.verifying_share(),
        *k.verifying_key(),
        1,
    );
    assert!(sign_locally(&[&forged], &dealt.public, b"hello", &mut rng).is_err());
}

/// How a simulated holder behaves.
#[derive(Clone, Copy, PartialEq)]
enum Holder {
    Honest,
    BadShare,
    Silent,
    GarbageCommitment,
}

/// Runs one coordinated session with in-memory delivery; returns the signature, if any, and
/// the holders excluded. Timers fire when the queue runs dry.
fn run_session(
    n: u64,
    f: u32,
    behaviour: &[Holder],
    approve: fn(&[u8]) -> bool,
    seed: u64,
) -> (Option<Signature>, BTreeSet<NodeId>, PublicKey) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let hs = holders(n, seed);
    let dealt = deal(&hs, f, &mut rng).unwrap();
    let key = group_key(&dealt.public).unwrap();
    let mut signers: BTreeMap<NodeId, Signer> = dealt
        .shares
        .iter()
        .map(|(h, k)| (*h, Signer::new(k.clone())))
        .collect();
    let kind: BTreeMap<NodeId, Holder> =
        hs.iter().copied().zip(behaviour.iter().copied()).collect();
    let message = b"epoch 7 config abc".to_vec();
    let mut c = Coordinator::new(
        Hash::of(&[b"s"]),
        message.clone(),
        dealt.public.clone(),
        hs.clone(),
        f as usize + 1,
        100,
    );
    let mut queue: VecDeque<CoordAction> = c.start().into();
    let mut timers = Vec::new();
    for _ in 0..10_000 {
        let Some(a) = queue.pop_front() else {
            let Some(t) = timers.pop() else { break };
            queue.extend(c.on_timer(t));
            continue;
        };
        match a {
            CoordAction::Done(sig) => {
                key.verify_strict(&message, &sig).unwrap();
                return (Some(sig), c.excluded().clone(), key);
            }
            CoordAction::SetTimer { attempt, .. } => timers.push(attempt),
            CoordAction::Excluded { .. } => {}
            CoordAction::Send { to, msg } => {
                let b = kind[&to];
                if b == Holder::Silent {
                    continue;
                }
                let s = signers.get_mut(&to).unwrap();
                let reply = match msg {
                    SignMsg::Commit { session, attempt } => {
                        let mut r = s.commit(session, attempt, own(), &mut rng).unwrap();
                        if b == Holder::GarbageCommitment
                            && let SignMsg::Commitment { commitment, .. } = &mut r
                        {
                            commitment.truncate(3);
                        }
                        r
                    }
                    SignMsg::Sign {
                        session,
                        attempt,
                        package,
                    } => match s.sign(session, attempt, &package, approve) {
                        Ok(mut r) => {
                            if b == Holder::BadShare
                                && let SignMsg::Share { share, .. } = &mut r
                            {
                                share[0] ^= 1;
                            }
                            r
                        }
                        Err(_) => continue,
                    },
                    _ => continue,
                };
                queue.extend(c.on_message(to, reply));
            }
        }
    }
    (None, c.excluded().clone(), key)
}

#[test]
fn honest_holders_sign_in_one_attempt() {
    let (sig, excluded, _) = run_session(4, 1, &[Holder::Honest; 4], |_| true, 1);
    assert!(sig.is_some());
    assert!(excluded.is_empty());
}

#[test]
fn a_wrong_share_is_identified_and_excluded() {
    for seed in 0..20 {
        let mut b = [Holder::Honest; 4];
        b[(seed % 4) as usize] = Holder::BadShare;
        let (sig, excluded, _) = run_session(4, 1, &b, |_| true, seed);
        assert!(sig.is_some(), "seed {seed}");
        // The bad holder is excluded exactly when it was picked.
        assert!(excluded.len() <= 1, "seed {seed}");
        let hs = holders(4, seed);
        for e in &excluded {
            assert_eq!(
                *e,
                hs[(seed % 4) as usize],
                "seed {seed}: an honest holder excluded"
            );
        }
    }
}

#[test]
fn f_faulty_holders_of_seven_do_not_stop_signing() {
    for seed in 0..10 {
        let mut b = [Holder::Honest; 7];
        b[(seed % 7) as usize] = Holder::Silent;
        b[((seed + 3) % 7) as usize] = Holder::BadShare;
        let (sig, _, _) = run_session(7, 2, &b, |_| true, 100 + seed);
        assert!(sig.is_some(), "seed {seed}");
        let mut b = [Holder::Honest; 7];
        b[(seed % 7) as usize] = Holder::GarbageCommitment;
        b[((seed + 1) % 7) as usize] = Holder::BadShare;
        let (sig, _, _) = run_session(7, 2, &b, |_| true, 200 + seed);
        assert!(sig.is_some(), "seed {seed}");
    }
}

#[test]
fn f_responsive_holders_cannot_sign() {
    let b = [
        Holder::Honest,
        Holder::Silent,
        Holder::Silent,
        Holder::Silent,
    ];
    let (sig, _, _) = run_session(4, 1, &b, |_| true, 3);
    assert!(sig.is_none());
}

#[test]
fn holders_sign_only_what_they_approve() {
    let (sig, _, _) = run_session(
        4,
        1,
        &[Holder::Honest; 4],
        |m| m != b"epoch 7 config abc",
        4,
    );
    assert!(sig.is_none());
}

#[test]
fn a_nonce_signs_once() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let hs = holders(4, 5);
    let dealt = deal(&hs, 1, &mut rng).unwrap();
    let mut s = Signer::new(dealt.shares[&hs[0]].clone());
    let mut t = Signer::new(dealt.shares[&hs[1]].clone());
    let session = Hash::of(&[b"x"]);
    let mut commitments = BTreeMap::new();
    for (h, signer) in [(hs[0], &mut s), (hs[1], &mut t)] {
        let SignMsg::Commitment { commitment, .. } =
            signer.commit(session, 1, own(), &mut rng).unwrap()
        else {
            unreachable!()
        };
        commitments.insert(
            identifier(&h).unwrap(),
            frost_ed25519::round1::SigningCommitments::deserialize(&commitment).unwrap(),
        );
    }
    let package = frost_ed25519::SigningPackage::new(commitments, b"m")
        .serialize()
        .unwrap();
    assert!(s.sign(session, 1, &package, |_| true).is_ok());
    assert_eq!(
        s.sign(session, 1, &package, |_| true),
        Err(SignRefusal::NoNonce)
    );
    assert!(matches!(
        t.sign(session, 1, &[1, 2, 3], |_| true),
        Err(SignRefusal::Malformed(_))
    ));
}

fn keys(n: u64, salt: u64) -> Vec<SecretKey> {
    (0..n)
        .map(|i| SecretKey::generate(&mut ChaCha20Rng::seed_from_u64(salt * 1000 + i)))
        .collect()
}

/// How a dealer lies.
#[derive(Clone, Copy)]
enum Lie {
    /// Seals a wrong value to the first new holder.
    WrongValue,
    /// Commits to something other than its share.
    WrongConstant,
    /// Seals garbage to everyone.
    Garbage,
}

/// Every old holder deals, complaints are settled by reveals (liars do not reveal), and each
/// new holder combines the first `t_old` dealings that stand.
fn rotate(
    plan: &Plan,
    old: &BTreeMap<NodeId, KeyPackage>,
    new_keys: &[SecretKey],
    rng: &mut ChaCha20Rng,
    lies: &BTreeMap<NodeId, Lie>,
) -> Result<(BTreeMap<NodeId, KeyPackage>, PublicKeyPackage), ReshareError> {
    let mut standing = Vec::new();
    for (h, k) in old {
        let (mut d, eph) = reshare::deal(plan, *h, k, rng)?;
        match lies.get(h) {
            Some(Lie::WrongValue) => d.sealed[0].masked[0] ^= 1,
            Some(Lie::WrongConstant) => d.commitment[0] = d.commitment[1],
            Some(Lie::Garbage) => d
                .sealed
                .iter_mut()
                .for_each(|s| rng.fill_bytes(&mut s.masked)),
            None => {}
        }
        if reshare::check_dealing(plan, &d).is_err() {
            continue;
        }
        // Each receiver opens its value; a bad one is a complaint, which an honest dealer
        // settles by revealing; a liar stays silent and its dealing falls.
        let mut stands = true;
        for key in new_keys {
            let me = NodeId::of(&key.public());
            if reshare::open(plan, &d, key).is_err() {
                let honest = !lies.contains_key(h);
                if honest {
                    let r = eph.get(&me).unwrap();
                    reshare::open_revealed(plan, &d, &me, &r).unwrap();
                }
                stands &= honest;
            }
        }
        if stands {
            standing.push(d);
        }
    }
    for liar in lies.keys() {
        assert!(
            standing.iter().all(|d| d.dealer != *liar),
            "a lying dealer's dealing stood"
        );
    }
    if standing.len() < plan.old_threshold {
        return Err(ReshareError::TooFewDealings {
            got: standing.len(),
            need: plan.old_threshold,
        });
    }
    standing.truncate(plan.old_threshold);
    let outsider = reshare::public_package(plan, &standing)?;
    let mut next = BTreeMap::new();
    for key in new_keys {
        let (k, public) = reshare::combine(plan, key, &standing, &BTreeMap::new())?;
        assert_eq!(
            public, outsider,
            "holders and outsiders agree on the public package"
        );
        assert_eq!(
            public.verifying_shares()[k.identifier()],
            *k.verifying_share()
        );
        next.insert(NodeId::of(&key.public()), k);
    }
    Ok((next, outsider))
}

#[test]
fn the_key_survives_many_rotations_with_byzantine_dealers() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let first: Vec<NodeId> = keys(4, 1).iter().map(|k| NodeId::of(&k.public())).collect();
    let dealt = deal(&first, 1, &mut rng).unwrap();
    let key = group_key(&dealt.public).unwrap();
    let mut shares = dealt.shares;
    let mut public = dealt.public;
    let mut f = 1u32;
    for round in 0..12u64 {
        let f_new = 1 + (round % 2) as u32;
        let new_keys = keys(3 * f_new as u64 + 1, 100 + round);
        let plan = Plan {
            session: Hash::of(&[b"rotation", &round.to_be_bytes()]),
            old: public.clone(),
            old_threshold: f as usize + 1,
            new_holders: new_keys.iter().map(SecretKey::public).collect(),
            new_threshold: f_new as usize + 1,
        };
        let lie = [Lie::WrongValue, Lie::WrongConstant, Lie::Garbage][(round % 3) as usize];
        let lies: BTreeMap<NodeId, Lie> =
            shares.keys().take(f as usize).map(|h| (*h, lie)).collect();
        let (next, new_public) = rotate(&plan, &shares, &new_keys, &mut rng, &lies).unwrap();
        let signers: Vec<&KeyPackage> = next.values().rev().take(f_new as usize + 1).collect();
        let msg = round.to_be_bytes();
        let sig = sign_locally(&signers, &new_public, &msg, &mut rng).unwrap();
        key.verify_strict(&msg, &sig).unwrap();
        assert_eq!(group_key(&new_public).unwrap(), key, "round {round}");
        // f_new holders of the new group cannot sign, even lying about the threshold.
        let few: Vec<KeyPackage> = next
            .values()
            .take(f_new as usize)
            .map(|k| {
                KeyPackage::new(
                    *k.identifier(),
                    *k.signing_share(),
                    *k.verifying_share(),
                    *k.verifying_key(),
                    f_new as u16,
                )
            })
            .collect();
        let few_refs: Vec<&KeyPackage> = few.iter().collect();
        assert!(sign_locally(&few_refs, &new_public, &msg, &mut rng).is_err());
        shares = next;
        public = new_public;
        f = f_new;
    }
}

#[test]
fn dealings_are_checked() {
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let old: Vec<NodeId> = keys(4, 1).iter().map(|k| NodeId::of(&k.public())).collect();
    let dealt = deal(&old, 1, &mut rng).unwrap();
    let new_keys = keys(4, 2);
    let plan = Plan {
        session: Hash::of(&[b"r"]),
        old: dealt.public.clone(),
        old_threshold: 2,
        new_holders: new_keys.iter().map(SecretKey::public).collect(),
        new_threshold: 2,
    };
    let (d, eph) = reshare::deal(&plan, old[0], &dealt.shares[&old[0]], &mut rng).unwrap();
    let v = reshare::open(&plan, &d, &new_keys[0]).unwrap();
    let me = NodeId::of(&new_keys[0].public());
    assert_eq!(
        reshare::open_revealed(&plan, &d, &me, &eph.get(&me).unwrap()),
        Ok(v)
    );
    // Another receiver's key opens nothing useful.
    let mut stolen = d.clone();
    stolen.sealed.swap(0, 1);
    assert_eq!(
        reshare::check_dealing(&plan, &stolen).unwrap_err(),
        ReshareError::WrongReceivers
    );
    // The wrong ephemeral secret settles nothing.
    let other = NodeId::of(&new_keys[1].public());
    assert_eq!(
        reshare::open_revealed(&plan, &d, &me, &eph.get(&other).unwrap()),
        Err(ReshareError::BadReveal(old[0]))
    );

    let mut other = d.clone();
    other.session = Hash::of(&[b"old rotation"]);
    assert_eq!(
        reshare::check_dealing(&plan, &other),
        Err(ReshareError::WrongSession)
    );
    let mut other = d.clone();
    other.dealer = old[1];
    assert_eq!(
        reshare::check_dealing(&plan, &other),
        Err(ReshareError::ConstantMismatch(old[1]))
    );
    let mut other = d.clone();
    other.commitment.pop();
    assert!(matches!(
        reshare::check_dealing(&plan, &other),
        Err(ReshareError::WrongDegree { got: 1, want: 2 })
    ));
    let mut other = d.clone();
    other.dealer = holders(1, 99)[0];
    assert!(matches!(
        reshare::check_dealing(&plan, &other),
        Err(ReshareError::NotOldHolder(_))
    ));
    let mut other = d.clone();
    other.commitment[1] = [0xff; 32];
    assert!(reshare::check_dealing(&plan, &other).is_err());
    let mut tampered = d.clone();
    tampered.sealed[0].masked[5] ^= 0x40;
    assert_eq!(
        reshare::open(&plan, &tampered, &new_keys[0]),
        Err(ReshareError::BadSubShare(old[0]))
    );
    assert!(matches!(
        reshare::public_package(&plan, std::slice::from_ref(&d)),
        Err(ReshareError::TooFewDealings { got: 1, need: 2 })
    ));
    assert!(matches!(
        reshare::public_package(&plan, &[d.clone(), d]),
        Err(ReshareError::DuplicateDealer(_))
    ));
}

mod nonce_book {
    use super::*;
    use crate::guard::Class;
    use crate::threshold::nonces::{
        NONCE_TTL_MS, NONCES_OUTSIDE_MAX, NONCES_PER_COORDINATOR, NoRoom, NonceBook,
    };

    fn nonces(rng: &mut ChaCha20Rng) -> frost_ed25519::round1::SigningNonces {
        let hs = holders(4, 9);
        let dealt = deal(&hs, 1, rng).unwrap();
        frost_ed25519::round1::commit(dealt.shares[&hs[0]].signing_share(), rng).0
    }

    fn outsider(k: u64, now_ms: u64) -> Asker {
        Asker {
            coordinator: Hash::of(&[&k.to_le_bytes()]),
            class: Class::Outside,
            now_ms,
        }
    }

    #[test]
    fn a_freshness_flood_never_pushes_out_an_epoch_signings_nonce() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let n = nonces(&mut rng);
        let mut book = NonceBook::default();
        let primary = Asker::own(Hash::of(&[b"primary"]), 0);
        let epoch_round = (Hash::of(&[b"epoch"]), 1);
        book.keep(epoch_round, n.clone(), primary).unwrap();
        let mut refused = 0;
        for k in 0..1_000u64 {
            let key = (Hash::of(&[&k.to_le_bytes()]), 1);
            if book.keep(key, n.clone(), outsider(k, 10)) == Err(NoRoom) {
                refused += 1;
            }
        }
        assert_eq!(refused, 1_000 - NONCES_OUTSIDE_MAX as u64);
        assert_eq!(book.refused(), refused);
        assert_eq!(book.len(), NONCES_OUTSIDE_MAX + 1);
        assert!(book.take(&epoch_round).is_some());
        // Once expired, outsiders' commitments make room again.
        let late = (Hash::of(&[b"late"]), 1);
        book.keep(late, n, outsider(5_000, 10 + NONCE_TTL_MS))
            .unwrap();
        assert_eq!(book.len(), 1);
    }

    #[test]
    fn a_coordinator_that_asks_again_and_again_pushes_out_only_its_own() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let n = nonces(&mut rng);
        let mut book = NonceBook::default();
        let other = (Hash::of(&[b"other"]), 1);
        book.keep(other, n.clone(), outsider(1, 0)).unwrap();
        for attempt in 0..100u32 {
            book.keep(
                (Hash::of(&[b"s"]), attempt),
                n.clone(),
                outsider(2, u64::from(attempt)),
            )
            .unwrap();
        }
        assert_eq!(book.len(), NONCES_PER_COORDINATOR + 1);
        assert!(book.take(&other).is_some());
        assert!(book.take(&(Hash::of(&[b"s"]), 99)).is_some());
        assert!(book.take(&(Hash::of(&[b"s"]), 0)).is_none());
    }
}
