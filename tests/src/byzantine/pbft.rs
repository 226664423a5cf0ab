//! Byzantine PBFT replicas: a correct replica whose outgoing actions are rewritten.
//!
//! - `Silent`: says nothing at all.
//! - `Equivocate`: as primary, sends different pre-prepares (another batch, validly signed)
//!   to different replicas.
//! - `Conflict`: sends prepares and commits for random digests to half the replicas.
//! - `Forge`: corrupts its signatures and sends messages in other replicas' names.
//! - `Replay`: re-sends old messages it received (from old views, old sequence numbers).
//! - `Withhold`: as primary, never sends pre-prepares, forcing a view change.

use overlay::crypto::SecretKey;
use overlay::id::Hash;
use overlay::pbft::{Action, Batch, Config, Payload, ReplicaIdx, Signed};
use rand::Rng as _;
use rand::seq::SliceRandom;

use crate::sim::Rng;

/// A Byzantine behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Sends nothing.
    Silent,
    /// Equivocating primary.
    Equivocate,
    /// Conflicting prepares and commits.
    Conflict,
    /// Forged signatures and impersonation.
    Forge,
    /// Replays old messages.
    Replay,
    /// Primary that withholds requests.
    Withhold,
}

/// Every behaviour, for drawing one at random.
pub const ALL: [Behaviour; 6] = [
    Behaviour::Silent,
    Behaviour::Equivocate,
    Behaviour::Conflict,
    Behaviour::Forge,
    Behaviour::Replay,
    Behaviour::Withhold,
];

/// A message to one replica.
pub type Out = (ReplicaIdx, Signed);

/// Rewrites a Byzantine replica's actions into the messages it actually sends; the other
/// actions (timers, persistence, replies) pass through unchanged.
pub struct Liar {
    /// Its behaviour.
    pub behaviour: Behaviour,
    key: SecretKey,
    me: ReplicaIdx,
    seen: Vec<Signed>,
}

/// Bound on the messages a replayer keeps.
const SEEN_MAX: usize = 256;

impl Liar {
    /// A liar with `behaviour` holding replica `me`'s key.
    pub fn new(behaviour: Behaviour, me: ReplicaIdx, key: SecretKey) -> Liar {
        Liar {
            behaviour,
            key,
            me,
            seen: Vec::new(),
        }
    }

    /// Remembers a received message (replayers re-send them later).
    pub fn observe(&mut self, m: &Signed) {
        if self.behaviour == Behaviour::Replay && self.seen.len() < SEEN_MAX {
            self.seen.push(m.clone());
        }
    }

    /// The messages to send for `actions`, and the actions left for the host.
    pub fn rewrite(
        &mut self,
        cfg: &Config,
        rng: &mut Rng,
        actions: Vec<Action>,
    ) -> (Vec<Out>, Vec<Action>) {
        let others: Vec<ReplicaIdx> = (0..cfg.n() as u32)
            .map(ReplicaIdx)
            .filter(|r| *r != self.me)
            .collect();
        let mut out = Vec::new();
        let mut rest = Vec::new();
        for a in actions {
            let (targets, msg) = match a {
                Action::Broadcast(m) => (others.clone(), m),
                Action::Send { to, msg } => (vec![to], msg),
                Action::Reply(_) if self.behaviour == Behaviour::Silent => continue,
                other => {
                    rest.push(other);
                    continue;
                }
            };
            for to in targets {
                if let Some(m) = self.lie(cfg, rng, to, &msg) {
                    out.push((to, m));
                }
            }
        }
        if self.behaviour == Behaviour::Replay && !self.seen.is_empty() && rng.gen_bool(0.3) {
            let old = self.seen[rng.gen_range(0..self.seen.len())].clone();
            let to = *others.choose(rng).unwrap_or(&ReplicaIdx(0));
            out.push((to, old));
        }
        (out, rest)
    }

    fn sign(&self, cfg: &Config, from: ReplicaIdx, payload: Payload) -> Signed {
        Signed::sign(&self.key, &cfg.instance, from, payload)
    }

    fn lie(&self, cfg: &Config, rng: &mut Rng, to: ReplicaIdx, m: &Signed) -> Option<Signed> {
        match (self.behaviour, &m.payload) {
            (Behaviour::Silent, _) => None,
            (Behaviour::Withhold, Payload::PrePrepare { .. }) => None,
            (
                Behaviour::Equivocate,
                Payload::PrePrepare {
                    view, seq, batch, ..
                },
            ) if to.0.is_multiple_of(2) => {
                let mut other = batch.0.clone();
                other.reverse();
                if other.len() <= 1 {
                    other.clear();
                }
                let batch = Batch(other);
                let digest = batch.digest();
                Some(self.sign(
                    cfg,
                    self.me,
                    Payload::PrePrepare {
                        view: *view,
                        seq: *seq,
                        digest,
                        batch,
                    },
                ))
            }
            (Behaviour::Conflict, Payload::Prepare { view, seq, .. }) if rng.gen_bool(0.5) => {
                let digest = Hash::of(&[&rng.r#gen::<[u8; 32]>()]);
                Some(self.sign(
                    cfg,
                    self.me,
                    Payload::Prepare {
                        view: *view,
                        seq: *seq,
                        digest,
                    },
                ))
            }
            (Behaviour::Conflict, Payload::Commit { view, seq, .. }) if rng.gen_bool(0.5) => {
                let digest = Hash::of(&[&rng.r#gen::<[u8; 32]>()]);
                Some(self.sign(
                    cfg,
                    self.me,
                    Payload::Commit {
                        view: *view,
                        seq: *seq,
                        digest,
                    },
                ))
            }
            (Behaviour::Forge, _) => {
                let mut forged = m.clone();
                if rng.gen_bool(0.5) {
                    // Claim to be someone else.
                    forged.from = ReplicaIdx(rng.gen_range(0..cfg.n() as u32));
                } else {
                    let mut bytes = forged.sig.to_bytes();
                    bytes[rng.gen_range(0..64)] ^= 1 << rng.gen_range(0..8);
                    forged.sig = overlay::crypto::Signature::from_bytes(&bytes);
                }
                Some(if rng.gen_bool(0.5) { forged } else { m.clone() })
            }
            _ => Some(m.clone()),
        }
    }
}
