//! Hostile input to one replica: each class is dropped with its own counter, leaves the
//! replica's state unchanged, and a flood cannot grow memory past the window.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;
use crate::crypto::{PublicKey, SecretKey};
use crate::encoding::DecodeError;
use crate::id::Hash;

struct Null;
impl Application for Null {
    fn admits(&self, _: &PublicKey) -> bool {
        true
    }
    fn execute(&mut self, _: &PublicKey, _: &[u8]) -> Vec<u8> {
        vec![]
    }
    fn snapshot(&self) -> Vec<u8> {
        vec![]
    }
    fn restore(&mut self, _: &[u8]) -> Result<(), String> {
        Ok(())
    }
}

fn keys() -> Vec<SecretKey> {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    (0..4).map(|_| SecretKey::generate(&mut rng)).collect()
}

fn setup() -> (Config, Vec<SecretKey>, Replica<Null>) {
    let ks = keys();
    let cfg = Config::new(
        Hash::of(&[b"t"]),
        ks.iter().map(SecretKey::public).collect(),
        1,
    );
    let r = Replica::new(
        cfg.clone(),
        ReplicaIdx(1),
        SecretKey::from_seed(&ks[1].seed()),
        Null,
    );
    (cfg, ks, r)
}

fn from(cfg: &Config, ks: &[SecretKey], i: u32, p: Payload) -> Signed {
    Signed::sign(&ks[i as usize], &cfg.instance, ReplicaIdx(i), p)
}

fn dropped(actions: &[Action]) -> Vec<Drop> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Dropped { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect()
}

fn prepare(seq: u64, view: u64) -> Payload {
    Payload::Prepare {
        view: View(view),
        seq: Seq(seq),
        digest: Hash::of(&[&seq.to_be_bytes()]),
    }
}

#[test]
fn malformed_and_oversized_bytes_are_decode_errors() {
    assert!(matches!(
        Signed::from_bytes(&[0xff; 40]),
        Err(DecodeError::Malformed(_))
    ));
    let huge = vec![0u8; MESSAGE_BYTES_MAX + 1];
    assert!(matches!(
        Signed::from_bytes(&huge),
        Err(DecodeError::Oversized { .. })
    ));
}

#[test]
fn a_pre_prepare_whose_digest_is_not_its_batch_is_malformed() {
    let (cfg, ks, mut r) = setup();
    let m = from(
        &cfg,
        &ks,
        0,
        Payload::PrePrepare {
            view: View(0),
            seq: Seq(1),
            digest: Hash::default(),
            batch: Batch::default(),
        },
    );
    assert_eq!(
        dropped(&r.on_event(Event::Message(m))),
        vec![Drop::Malformed]
    );
    assert_eq!(r.log_len(), 0);
}

#[test]
fn an_oversized_operation_is_malformed() {
    let (cfg, _, mut r) = setup();
    let client = SecretKey::from_seed(&[9; 32]);
    let req = SignedRequest::sign(
        &client,
        Request {
            instance: cfg.instance,
            client: client.public(),
            timestamp: 1,
            op: vec![0; OP_BYTES_MAX + 1],
        },
    );
    assert_eq!(
        dropped(&r.on_event(Event::Request(req))),
        vec![Drop::Malformed]
    );
    // A request for another instance never executes here.
    let req = SignedRequest::sign(
        &client,
        Request {
            instance: Hash::of(&[b"another instance"]),
            client: client.public(),
            timestamp: 1,
            op: vec![0],
        },
    );
    assert_eq!(
        dropped(&r.on_event(Event::Request(req))),
        vec![Drop::WrongInstance]
    );
    assert_eq!(r.pending_len(), 0);
}

#[test]
fn a_wrong_signature_or_impersonation_is_dropped() {
    let (cfg, ks, mut r) = setup();
    let mut m = from(&cfg, &ks, 2, prepare(1, 0));
    m.from = ReplicaIdx(3);
    assert_eq!(
        dropped(&r.on_event(Event::Message(m))),
        vec![Drop::BadSignature]
    );
    let mut m = from(&cfg, &ks, 2, prepare(1, 0));
    m.from = ReplicaIdx(77);
    assert_eq!(
        dropped(&r.on_event(Event::Message(m))),
        vec![Drop::BadSignature]
    );
    assert_eq!(r.log_len(), 0);
    assert_eq!(r.drops().get(&Drop::BadSignature), Some(&2));
}

#[test]
fn wrong_view_out_of_window_and_duplicates_are_counted() {
    let (cfg, ks, mut r) = setup();
    let m = from(&cfg, &ks, 2, prepare(1, 5));
    assert_eq!(
        dropped(&r.on_event(Event::Message(m))),
        vec![Drop::WrongView]
    );
    let m = from(&cfg, &ks, 2, prepare(cfg.log_window + 1, 0));
    assert_eq!(
        dropped(&r.on_event(Event::Message(m))),
        vec![Drop::OutOfWindow]
    );
    let m = from(&cfg, &ks, 2, prepare(1, 0));
    assert_eq!(dropped(&r.on_event(Event::Message(m.clone()))), vec![]);
    assert_eq!(
        dropped(&r.on_event(Event::Message(m.clone()))),
        vec![Drop::Duplicate]
    );
    let conflicting = from(
        &cfg,
        &ks,
        2,
        Payload::Prepare {
            view: View(0),
            seq: Seq(1),
            digest: Hash::default(),
        },
    );
    let out = r.on_event(Event::Message(conflicting.clone()));
    assert_eq!(dropped(&out), vec![Drop::Conflicting]);
    let proof = out.iter().find_map(|a| match a {
        Action::Equivocation { a, b } => Some(((**a).clone(), (**b).clone())),
        _ => None,
    });
    assert_eq!(proof, Some((m, conflicting)), "the two messages prove it");
    assert_eq!(r.log_len(), 1);
}

#[test]
fn a_pre_prepare_from_a_backup_is_refused() {
    let (cfg, ks, mut r) = setup();
    let batch = Batch::default();
    let m = from(
        &cfg,
        &ks,
        2,
        Payload::PrePrepare {
            view: View(0),
            seq: Seq(1),
            digest: batch.digest(),
            batch,
        },
    );
    assert_eq!(
        dropped(&r.on_event(Event::Message(m))),
        vec![Drop::NotPrimary]
    );
}

#[test]
fn a_flood_from_one_sender_stays_inside_the_window() {
    let (cfg, ks, mut r) = setup();
    for i in 0..5_000u64 {
        let p = match i % 3 {
            0 => prepare(i % 200, 0),
            1 => Payload::Commit {
                view: View(0),
                seq: Seq(i % 200),
                digest: Hash::of(&[&i.to_be_bytes()]),
            },
            _ => Payload::Checkpoint {
                seq: Seq(i % 400),
                state: Hash::of(&[&i.to_be_bytes()]),
            },
        };
        r.on_event(Event::Message(from(&cfg, &ks, 2, p)));
    }
    assert!(
        r.log_len() as u64 <= cfg.log_window,
        "{} slots",
        r.log_len()
    );
    let client = SecretKey::from_seed(&[7; 32]);
    for ts in 1..1_000 {
        let req = SignedRequest::sign(
            &client,
            Request {
                instance: cfg.instance,
                client: client.public(),
                timestamp: ts,
                op: vec![1],
            },
        );
        r.on_event(Event::Request(req));
    }
    assert!(r.pending_len() <= PENDING_PER_CLIENT_MAX);
    assert!(r.drops().get(&Drop::Full).copied().unwrap_or(0) > 900);
}

#[test]
fn a_forged_view_change_or_new_view_is_a_bad_proof() {
    let (cfg, ks, mut r) = setup();
    // A view change claiming a stable checkpoint at 16 with no votes.
    let stable = CheckpointProof {
        seq: Seq(16),
        state: Hash::default(),
        votes: vec![],
    };
    let vc = ViewChange {
        new_view: View(1),
        stable,
        prepared: vec![],
    };
    let m = from(&cfg, &ks, 2, Payload::ViewChange(Box::new(vc)));
    assert_eq!(
        dropped(&r.on_event(Event::Message(m))),
        vec![Drop::BadProof]
    );
    // A new view for view 1 from its primary (replica 1 is us; use view 2, primary 2) with no
    // view changes.
    let nv = NewView {
        view: View(2),
        view_changes: vec![],
        pre_prepares: vec![],
    };
    let m = from(&cfg, &ks, 2, Payload::NewView(Box::new(nv)));
    assert_eq!(
        dropped(&r.on_event(Event::Message(m))),
        vec![Drop::BadProof]
    );
    assert_eq!(r.view(), View(0));
    assert!(r.is_active());
}

fn view_change_to(
    cfg: &Config,
    ks: &[SecretKey],
    i: u32,
    view: u64,
    stable: &CheckpointProof,
) -> Signed {
    let vc = ViewChange {
        new_view: View(view),
        stable: stable.clone(),
        prepared: vec![],
    };
    from(cfg, ks, i, Payload::ViewChange(Box::new(vc)))
}

fn arms_view_change_timer(actions: &[Action]) -> bool {
    actions.iter().any(|a| {
        matches!(
            a,
            Action::SetTimer {
                timer: Timer::ViewChange,
                ..
            }
        )
    })
}

#[test]
fn a_view_change_timer_starts_only_once_2f_plus_1_asked_for_that_view_or_later() {
    let (cfg, ks, mut r) = setup();
    let client = SecretKey::generate(&mut ChaCha20Rng::seed_from_u64(9));
    let mut c = Client::new(cfg.clone(), client, 1, 600);
    let request = c
        .submit(b"op".to_vec())
        .unwrap_or_default()
        .into_iter()
        .find_map(|a| match a {
            ClientAction::Send { request, .. } | ClientAction::Broadcast(request) => Some(request),
            _ => None,
        })
        .expect("the client sends its request");
    // A backup with a request pending waits for the primary, then asks for view 1, alone.
    assert!(arms_view_change_timer(&r.on_event(Event::Request(request))));
    let acts = r.on_event(Event::Timer(Timer::ViewChange));
    assert_eq!(r.view(), View(1));
    assert!(!r.is_active());
    assert!(
        !arms_view_change_timer(&acts),
        "alone, it must not time out of view 1 and run ahead of the others"
    );
    let stable = r.stable.clone();
    let acts = r.on_event(Event::Message(view_change_to(&cfg, &ks, 2, 1, &stable)));
    assert!(!arms_view_change_timer(&acts), "two of 2f+1 = 3");
    // A third replica already asks for view 2: it too has given up view 1.
    let acts = r.on_event(Event::Message(view_change_to(&cfg, &ks, 3, 2, &stable)));
    assert!(arms_view_change_timer(&acts));
    assert_eq!(r.view(), View(1));
}
