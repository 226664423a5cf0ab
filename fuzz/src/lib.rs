//! Fixtures and checks shared by the fuzz targets and the seed generator.
//!
//! Every target decodes arbitrary bytes the way a node decodes what a peer, a client or a
//! file hands it; when decoding succeeds it checks the round trip ([`roundtrip`]) and runs
//! the checks that follow decoding on the network against the fixed system built here: four
//! members, an authority, an MS key dealt to the four, a genesis MS state and one with a
//! handover open. Fixtures are built once per process ([`LazyLock`]); keys come from fixed
//! seeds so that the seeds in `corpus/` verify against them.

#![allow(missing_docs)]

pub mod seeds;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::LazyLock;

use overlay::cert::{Capabilities, CertBody, CertContent, Certificate};
use overlay::config::{Configuration, Delta, Member, choose_ms_group};
use overlay::crypto::{PublicKey, SecretKey, Signature};
use overlay::dbqs::access::Gate;
use overlay::encoding::{decode, decode_domain, domain_bytes, encode};
use overlay::epoch::{EpochCert, EpochStatement, EpochTracker};
use overlay::freshness::FreshnessStatement;
use overlay::id::{Epoch, Hash, NodeId};
use overlay::ms::{MsApp, Op, Outcome, State};
use overlay::pbft::{Client, Replica, ReplicaIdx};
use overlay::ring::{Range, RangeSet, Ring};
use overlay::threshold::reshare::Ephemerals;
use overlay::threshold::session::{CoordAction, Coordinator, SignMsg, Signer};
use overlay::threshold::{self, Dealt, KeyPackage};
use overlay::time::Timestamp;
use overlay::transfer::mover::{EpochLog, Mover, Saved, Settings};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// When the fixture certificates were issued.
pub const T0: Timestamp = Timestamp(1_000_000);
/// The time checks run at.
pub const NOW: Timestamp = Timestamp(1_000_100);
/// Members of the fixture configuration: keys `key(1)` to `key(MEMBERS)`.
pub const MEMBERS: u8 = 4;

/// The key with seed `[i; 32]`.
pub fn key(i: u8) -> SecretKey {
    SecretKey::from_seed(&[i; 32])
}

/// The authority's key.
pub fn authority() -> SecretKey {
    key(200)
}

/// The authority's public key.
pub static AUTHORITY: LazyLock<PublicKey> = LazyLock::new(|| authority().public());

/// Who submits MS operations in the targets: the authority and members 1 to 5.
pub static SUBMITTERS: LazyLock<Vec<PublicKey>> = LazyLock::new(|| {
    let mut v = vec![*AUTHORITY];
    v.extend((1..=MEMBERS + 1).map(|i| key(i).public()));
    v
});

/// A client's key.
pub fn client() -> SecretKey {
    key(100)
}

/// Member `i`.
pub fn member(i: u8) -> Member {
    Member {
        key: key(i).public(),
        addrs: vec![format!("/ip4/127.0.0.1/tcp/{}", 7000 + u32::from(i))],
    }
}

/// The configuration of `epoch` with members `1..=n`, f = f_ms = 1.
pub fn configuration(epoch: u64, n: u8) -> Configuration {
    let mut members: Vec<Member> = (1..=n).map(member).collect();
    members.sort_by_key(Member::id);
    let ids: Vec<NodeId> = members.iter().map(Member::id).collect();
    Configuration {
        epoch: Epoch(epoch),
        ms_group: choose_ms_group(&ids, 1, &Hash([epoch as u8; 32])),
        members,
        f: 1,
        f_ms: 1,
        vnodes: 4,
        revoked: BTreeMap::new(),
    }
}

/// The configuration nodes hold: epoch 1, four members.
pub static CONFIG: LazyLock<Configuration> = LazyLock::new(|| configuration(1, MEMBERS));
/// The next one: epoch 2, a fifth member joined.
pub static NEXT: LazyLock<Configuration> = LazyLock::new(|| configuration(2, MEMBERS + 1));
/// The ring of [`CONFIG`].
pub static RING: LazyLock<Ring> = LazyLock::new(|| Ring::of(&CONFIG));

/// The MS key dealt to [`CONFIG`]'s MS group.
pub static DEALT: LazyLock<Dealt> = LazyLock::new(|| {
    threshold::deal(
        &CONFIG.ms_group,
        CONFIG.f_ms,
        &mut ChaCha20Rng::seed_from_u64(7),
    )
    .expect("dealing the fixture MS key")
});
/// Its public package, serialised.
pub static MS_PUBLIC: LazyLock<Vec<u8>> = LazyLock::new(|| {
    DEALT
        .public
        .serialize()
        .expect("serialising the public package")
});
/// The MS public key.
pub static MS_KEY: LazyLock<PublicKey> =
    LazyLock::new(|| threshold::group_key(&DEALT.public).expect("the group key"));

/// Member `i`'s share of the MS key.
pub fn share(i: u8) -> &'static KeyPackage {
    &DEALT.shares[&NodeId::of(&key(i).public())]
}

/// A threshold signature of the MS over `message`.
pub fn ms_sign(message: &[u8]) -> Signature {
    let shares: Vec<&KeyPackage> = DEALT.shares.values().take(2).collect();
    threshold::sign_locally(
        &shares,
        &DEALT.public,
        message,
        &mut ChaCha20Rng::seed_from_u64(9),
    )
    .expect("signing with the fixture MS key")
}

/// The epoch certificate of `config` with the delta hash `delta`.
pub fn epoch_cert(config: &Configuration, delta: Hash) -> EpochCert {
    let statement = EpochStatement {
        epoch: config.epoch,
        config_hash: config.hash(),
        delta_hash: delta,
    };
    EpochCert {
        statement,
        signature: ms_sign(&domain_bytes(&statement)),
    }
}

/// [`CONFIG`]'s certificate.
pub static CONFIG_CERT: LazyLock<EpochCert> =
    LazyLock::new(|| epoch_cert(&CONFIG, Hash::default()));
/// The tracker of a node holding [`CONFIG`].
pub static TRACKER: LazyLock<EpochTracker> = LazyLock::new(|| {
    EpochTracker::new(*MS_KEY, CONFIG.clone(), *CONFIG_CERT).expect("the fixture tracker")
});

/// An authority certificate of `body`, valid from [`T0`] for a day.
pub fn cert(body: CertBody) -> Certificate {
    Certificate::issue(
        &authority(),
        CertContent {
            body,
            issued_at: T0,
            not_before: T0,
            not_after: T0.plus_secs(86_400),
        },
    )
}

/// The client's credential, granting everything.
pub static CREDENTIAL: LazyLock<Certificate> = LazyLock::new(|| {
    cert(CertBody::Client {
        key: client().public(),
        name: "fuzz".into(),
        caps: Capabilities {
            put: true,
            get: true,
            analyze: true,
        },
    })
});

/// The MS at genesis of [`CONFIG`].
pub static STATE: LazyLock<State> = LazyLock::new(|| {
    State::new(
        *AUTHORITY,
        CONFIG.clone(),
        Hash::default(),
        T0,
        MS_PUBLIC.clone(),
    )
});

/// The member key with id `id`.
pub fn key_of(id: &NodeId) -> SecretKey {
    (1..=MEMBERS + 1)
        .map(key)
        .find(|k| NodeId::of(&k.public()) == *id)
        .expect("a fixture member's id")
}

/// The fixture index (for [`key`] and [`share`]) of member `id`.
pub fn index_of(id: &NodeId) -> u8 {
    (1..=MEMBERS + 1)
        .find(|i| NodeId::of(&key(*i).public()) == *id)
        .expect("a fixture member's id")
}

/// The MS with a handover open, and what its dealers keep to answer complaints.
pub struct Handing {
    /// The state.
    pub state: State,
    /// Each dealing's ephemeral secrets, by dealer.
    pub ephemerals: BTreeMap<NodeId, Ephemerals>,
}

impl Handing {
    /// Applies `op` submitted by member `id`, which must be accepted.
    fn apply(&mut self, id: &NodeId, op: Op) {
        let what = format!("{op:?}");
        if let Err(e) = self.state.apply(&key_of(id).public(), op) {
            panic!("the fixture handover refuses {what}: {e}");
        }
    }

    /// Old holder `dealer` deals.
    pub fn deal(&mut self, dealer: NodeId, seed: u64) -> Op {
        let h = self.state.handover().expect("a handover is open");
        let (op, eph) = overlay::ms::roles::deal(
            h,
            dealer,
            share(index_of(&dealer)),
            &mut ChaCha20Rng::seed_from_u64(seed),
        )
        .expect("dealing");
        self.ephemerals.insert(dealer, eph);
        op
    }

    /// The old and the new holders.
    pub fn holders(&self) -> (Vec<NodeId>, Vec<NodeId>) {
        let h = self.state.handover().expect("a handover is open");
        (
            h.old_holders.clone(),
            h.new_holders.iter().map(NodeId::of).collect(),
        )
    }

    /// The reveal that answers `receiver`'s complaint against `dealer`.
    pub fn reveal(&self, dealer: &NodeId, receiver: NodeId) -> Op {
        Op::Reveal {
            receiver,
            secret: self.ephemerals[dealer]
                .get(&receiver)
                .expect("an ephemeral per receiver")
                .to_bytes(),
        }
    }
}

/// The MS after `NewEpoch` with member 5 admitted: the first old holder dealt, and the first
/// new holder complained about that dealing.
pub static HANDING: LazyLock<Handing> = LazyLock::new(|| {
    let mut s = STATE.clone();
    let m = member(MEMBERS + 1);
    let add = Op::Add(cert(CertBody::Add {
        node: m.key,
        addrs: m.addrs,
    }));
    s.apply(&key(1).public(), add).expect("admitting member 5");
    let closing = Op::NewEpoch {
        closing: CONFIG.epoch,
        now: NOW,
    };
    match s.apply(&key(1).public(), closing) {
        Ok(Outcome::Epoch { .. }) => {}
        other => panic!("closing the fixture epoch: {other:?}"),
    }
    let mut h = Handing {
        state: s,
        ephemerals: BTreeMap::new(),
    };
    let (old, new) = h.holders();
    let op = h.deal(old[0], 11);
    h.apply(&old[0], op);
    h.apply(&new[0], Op::Complain { dealer: old[0] });
    h
});

/// [`HANDING`]'s state: a handover open, one dealing, one open complaint.
pub static HANDOVER_STATE: LazyLock<State> = LazyLock::new(|| HANDING.state.clone());

/// The MS once that handover completed: the complaint settled, a second dealing, the new
/// holders ready, the epoch certified.
pub static COMPLETE_STATE: LazyLock<State> = LazyLock::new(|| {
    let mut h = Handing {
        state: HANDING.state.clone(),
        ephemerals: BTreeMap::new(),
    };
    let (old, new) = h.holders();
    let reveal = HANDING.reveal(&old[0], new[0]);
    h.apply(&old[0], reveal);
    let op = h.deal(old[1], 12);
    h.apply(&old[1], op);
    // 2f+1 new holders ready fix the dealers.
    let quorum = 2 * ((new.len() - 1) / 3) + 1;
    for n in &new[..quorum] {
        h.apply(n, Op::Ready { checked: 2 });
    }
    let statement = h.state.handover().expect("a handover").statement;
    let cert = EpochCert {
        statement,
        signature: ms_sign(&domain_bytes(&statement)),
    };
    h.apply(&old[0], Op::Certified(cert));
    assert!(
        h.state.handover().is_some_and(|x| x.is_complete()),
        "the fixture handover completes"
    );
    h.state
});

/// What the replica checking store requests checks them against.
pub fn gate() -> Gate<'static> {
    Gate {
        me: CONFIG.members[0].id(),
        config: &CONFIG,
        ring: &RING,
        authority: &AUTHORITY,
        now: NOW,
    }
}

/// A saved transfer plan: in epoch 1, everything owned and held in epochs 0 and 1.
pub fn saved() -> Saved {
    let whole = RangeSet::of(&Range::full());
    let log = [Epoch(0), Epoch(1)]
        .into_iter()
        .map(|e| {
            (
                e,
                EpochLog {
                    owned: whole.clone(),
                    incomplete: RangeSet::new(),
                },
            )
        })
        .collect();
    Saved {
        epoch: Some(Epoch(1)),
        log,
        pending: Vec::new(),
        dirty: whole,
    }
}

/// A mover resuming from [`saved`].
pub fn mover() -> Mover {
    Mover::new(
        CONFIG.members[0].id(),
        *AUTHORITY,
        Settings::default(),
        saved(),
    )
}

/// The delta from [`CONFIG`] to [`NEXT`].
pub static DELTA: LazyLock<Delta> = LazyLock::new(|| Delta::between(&CONFIG, &NEXT));

/// Checks the round trip of a value decoded from `input` under the bound `max`: its
/// canonical encoding decodes under the same bound to an equal value whose encoding is the
/// same, and is no longer than the input (so relaying it never breaks the bound it was
/// accepted under). Returns the value decoded again.
pub fn roundtrip<T>(v: &T, input: &[u8], max: usize) -> T
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let bytes = encode(v);
    assert!(
        bytes.len() <= input.len(),
        "the re-encoding ({} bytes) is longer than the input ({} bytes)",
        bytes.len(),
        input.len()
    );
    let again: T = match decode(&bytes, max) {
        Ok(x) => x,
        Err(e) => panic!("the re-encoding does not decode: {e}"),
    };
    assert!(again == *v, "the round trip changed the value");
    assert!(encode(&again) == bytes, "the re-encoding is not stable");
    again
}

/// The bytes of a file of kind `magic` holding `body`.
pub fn file_bytes(magic: &str, body: &[u8]) -> Vec<u8> {
    bootstrap::files::with_magic(magic, body)
}

/// The secret key of a fixture public key.
pub fn secret_of(public: &PublicKey) -> SecretKey {
    (1..=MEMBERS + 1)
        .map(key)
        .find(|k| k.public() == *public)
        .expect("a fixture member's key")
}

/// The PBFT instance of [`CONFIG`]'s MS group.
pub fn pbft_config() -> overlay::pbft::Config {
    overlay::pbft::Config::for_ms(&CONFIG)
}

/// Replica `idx` of that instance, running the MS from genesis (replica 0 is the primary
/// of view 0).
pub fn replica(idx: u32) -> Replica<MsApp> {
    let cfg = pbft_config();
    let me = ReplicaIdx(idx);
    let key = secret_of(&cfg.replicas[idx as usize]);
    Replica::new(cfg, me, key, MsApp::new(STATE.clone()))
}

/// The op the PBFT client submits, and its timestamp.
pub const CLIENT_OP_TIMESTAMP: u64 = 101;

/// A PBFT client (member 1) with a request outstanding at [`CLIENT_OP_TIMESTAMP`].
pub fn pbft_client() -> Client {
    let mut c = Client::new(pbft_config(), key(1), CLIENT_OP_TIMESTAMP - 1, 1000);
    let op = MsApp::encode_op(&Op::Unresponsive {
        node: CONFIG.members[1].id(),
    });
    let _ = c.submit(op);
    c
}

/// The signing session of the fixture coordinator.
pub const TSIG_SESSION: Hash = Hash([5; 32]);

/// What it signs: a freshness statement.
pub fn tsig_message() -> Vec<u8> {
    FreshnessStatement {
        nonce: [3; 32],
        epoch: CONFIG.epoch,
    }
    .signed_bytes()
}

/// The randomness of the fixture session (the same every time, so that recorded commitments
/// and shares stay valid).
pub fn tsig_rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(1)
}

/// An MS replica's approval of a message to sign: a freshness or an epoch statement.
pub fn approve(message: &[u8]) -> bool {
    FreshnessStatement::from_signed_bytes(message).is_some()
        || decode_domain::<EpochStatement>(message, 256).is_some()
}

/// A coordinator that started attempt 1 of [`TSIG_SESSION`], the holders' signers and the
/// holders, in the MS group's order.
pub fn tsig_session() -> (Coordinator, Vec<Signer>, Vec<NodeId>) {
    let holders = CONFIG.ms_group.clone();
    let signers = holders
        .iter()
        .map(|h| {
            let i = (1..=MEMBERS)
                .find(|i| NodeId::of(&key(*i).public()) == *h)
                .expect("a holder's key");
            Signer::new(share(i).clone())
        })
        .collect();
    let mut c = Coordinator::new(
        TSIG_SESSION,
        tsig_message(),
        DEALT.public.clone(),
        holders.clone(),
        CONFIG.f_ms as usize + 1,
        1000,
    );
    let _ = c.start();
    (c, signers, holders)
}

/// A coordinator to which every holder committed: it asked some of them to sign. Returns
/// it, the signers (holding their nonces) and the `Sign` messages sent, by holder.
/// The coordinator a fixture holder is asked by: an MS replica, at time 0.
pub fn tsig_asker() -> overlay::threshold::nonces::Asker {
    overlay::threshold::nonces::Asker::own(Hash::default(), 0)
}

pub fn tsig_signing() -> (Coordinator, Vec<Signer>, Vec<(NodeId, SignMsg)>) {
    let (mut c, mut signers, holders) = tsig_session();
    let mut rng = tsig_rng();
    let mut sent = Vec::new();
    for (i, h) in holders.iter().enumerate() {
        let Some(m) = signers[i].commit(TSIG_SESSION, 1, tsig_asker(), &mut rng).ok() else {
            continue;
        };
        for a in c.on_message(*h, m) {
            if let CoordAction::Send { to, msg } = a
                && matches!(msg, SignMsg::Sign { .. })
            {
                sent.push((to, msg));
            }
        }
    }
    (c, signers, sent)
}
