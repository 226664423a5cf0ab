//! Liveness probes (Rodrigues et al. 2012 §4): each MS replica publishes a signed challenge
//! every round; every member answers with its signature over (challenge, epoch); a replica
//! that misses a member's answers `k` rounds in a row reports it to the MS, where f_ms+1
//! distinct reports evict it at the next epoch. Messages travel by gossip, so a member's
//! answer reaches every replica without the member knowing who they are.
//!
//! This module holds the messages and the replica's bookkeeping; the host publishes and
//! delivers, and supplies time and randomness.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::config::Configuration;
use crate::crypto::{self, SecretKey, Signature};
use crate::encoding::{Domain, decode, encode};
use crate::id::{Epoch, Hash, NodeId};

/// Largest probe message accepted.
pub const PROBE_BYTES_MAX: usize = 512;

/// An MS replica's challenge for one round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// The epoch the replica is in.
    pub epoch: Epoch,
    /// The replica.
    pub from: NodeId,
    /// Its round number.
    pub round: u64,
    /// Fresh randomness, so answers cannot be made ahead.
    pub nonce: [u8; 16],
}

impl Domain for Challenge {
    const DOMAIN: &'static str = "probe-challenge";
}

/// A member's answer: its signature over (challenge, epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The challenge's hash.
    pub challenge: Hash,
    /// The epoch the member is in.
    pub epoch: Epoch,
    /// The member.
    pub from: NodeId,
}

impl Domain for Answer {
    const DOMAIN: &'static str = "probe-answer";
}

/// A probe message on the gossip topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProbeMsg {
    /// A challenge with the replica's signature.
    Challenge(Challenge, Signature),
    /// An answer with the member's signature.
    Answer(Answer, Signature),
}

impl Challenge {
    /// The challenge's hash, which answers name.
    pub fn hash(&self) -> Hash {
        Hash::of(&[&encode(self)])
    }
}

/// Why a probe message was dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// It does not decode.
    #[error("malformed probe message: {0}")]
    Malformed(String),
    /// Another epoch than ours.
    #[error("probe for epoch {got}, we are in {ours}")]
    WrongEpoch {
        /// Its epoch.
        got: Epoch,
        /// Ours.
        ours: Epoch,
    },
    /// A challenge from a node outside the MS group, or an answer from a non-member.
    #[error("probe from {0}, who may not send it")]
    NotAllowed(NodeId),
    /// The signature does not verify.
    #[error("probe signature does not verify")]
    BadSignature,
}

/// Decodes and checks a probe message against the configuration we are in.
pub fn check(bytes: &[u8], config: &Configuration) -> Result<ProbeMsg, ProbeError> {
    let msg: ProbeMsg =
        decode(bytes, PROBE_BYTES_MAX).map_err(|e| ProbeError::Malformed(e.to_string()))?;
    let (epoch, from) = match &msg {
        ProbeMsg::Challenge(c, _) => (c.epoch, c.from),
        ProbeMsg::Answer(a, _) => (a.epoch, a.from),
    };
    if epoch != config.epoch {
        return Err(ProbeError::WrongEpoch {
            got: epoch,
            ours: config.epoch,
        });
    }
    let member = config.member(&from).ok_or(ProbeError::NotAllowed(from))?;
    let ok = match &msg {
        ProbeMsg::Challenge(c, sig) => {
            config.in_ms_group(&from) && crypto::verify(&member.key, c, sig).is_ok()
        }
        ProbeMsg::Answer(a, sig) => crypto::verify(&member.key, a, sig).is_ok(),
    };
    if !ok {
        return Err(
            if config.in_ms_group(&from) || matches!(msg, ProbeMsg::Answer(..)) {
                ProbeError::BadSignature
            } else {
                ProbeError::NotAllowed(from)
            },
        );
    }
    Ok(msg)
}

/// A member answers a checked challenge.
pub fn answer(key: &SecretKey, challenge: &Challenge) -> ProbeMsg {
    let a = Answer {
        challenge: challenge.hash(),
        epoch: challenge.epoch,
        from: NodeId::of(&key.public()),
    };
    ProbeMsg::Answer(a, key.sign(&a))
}

/// An MS replica's probe bookkeeping for one epoch.
#[derive(Debug)]
pub struct Prober {
    epoch: Epoch,
    me: NodeId,
    misses_max: u32,
    round: u64,
    open: Option<Hash>,
    answered: BTreeSet<NodeId>,
    misses: BTreeMap<NodeId, u32>,
    reported: BTreeSet<NodeId>,
}

impl Prober {
    /// A prober for replica `me` in `epoch`; a member is reported after `misses_max` missed
    /// rounds in a row.
    pub fn new(me: NodeId, epoch: Epoch, misses_max: u32) -> Prober {
        Prober {
            epoch,
            me,
            misses_max: misses_max.max(1),
            round: 0,
            open: None,
            answered: BTreeSet::new(),
            misses: BTreeMap::new(),
            reported: BTreeSet::new(),
        }
    }

    /// The epoch it probes.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// Closes the open round (counting who missed it among `config`'s members) and opens
    /// the next: returns the challenge to publish and the members to report now.
    pub fn next_round(
        &mut self,
        key: &SecretKey,
        config: &Configuration,
        nonce: [u8; 16],
    ) -> (ProbeMsg, Vec<NodeId>) {
        let mut report = Vec::new();
        if self.open.is_some() {
            for m in &config.members {
                let id = m.id();
                if id == self.me {
                    continue;
                }
                if self.answered.contains(&id) {
                    self.misses.remove(&id);
                    continue;
                }
                let n = self.misses.entry(id).or_insert(0);
                *n += 1;
                if *n >= self.misses_max && self.reported.insert(id) {
                    report.push(id);
                }
            }
        }
        self.round += 1;
        self.answered.clear();
        let c = Challenge {
            epoch: self.epoch,
            from: self.me,
            round: self.round,
            nonce,
        };
        self.open = Some(c.hash());
        (ProbeMsg::Challenge(c, key.sign(&c)), report)
    }

    /// A checked answer.
    pub fn on_answer(&mut self, a: &Answer) {
        if Some(a.challenge) == self.open && a.epoch == self.epoch {
            self.answered.insert(a.from);
        }
    }

    /// Consecutive misses per member, for status.
    pub fn misses(&self) -> &BTreeMap<NodeId, u32> {
        &self.misses
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Member, choose_ms_group};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn system(n: u64) -> (Vec<SecretKey>, Configuration) {
        let keys: Vec<SecretKey> = (0..n)
            .map(|i| SecretKey::generate(&mut ChaCha20Rng::seed_from_u64(i)))
            .collect();
        let mut members: Vec<Member> = keys
            .iter()
            .map(|k| Member {
                key: k.public(),
                addrs: vec![],
            })
            .collect();
        members.sort_by_key(Member::id);
        let ids: Vec<NodeId> = members.iter().map(Member::id).collect();
        let config = Configuration {
            epoch: Epoch(3),
            ms_group: choose_ms_group(&ids, 1, &Hash::default()),
            members,
            f: 1,
            f_ms: 1,
            vnodes: 4,
            revoked: Default::default(),
        };
        (keys, config)
    }

    #[test]
    fn a_silent_member_is_reported_after_k_rounds_and_only_once() {
        let (keys, config) = system(5);
        let ms = config.ms_group[0];
        let ms_key = keys.iter().find(|k| NodeId::of(&k.public()) == ms).unwrap();
        let silent = NodeId::of(
            &keys
                .iter()
                .find(|k| NodeId::of(&k.public()) != ms)
                .unwrap()
                .public(),
        );
        let mut p = Prober::new(ms, config.epoch, 3);
        let mut reports = Vec::new();
        for round in 0..6u8 {
            let (msg, report) = p.next_round(ms_key, &config, [round; 16]);
            reports.extend(report);
            let bytes = encode(&msg);
            let ProbeMsg::Challenge(c, _) = check(&bytes, &config).unwrap() else {
                panic!()
            };
            for k in &keys {
                let id = NodeId::of(&k.public());
                if id == silent || id == ms {
                    continue;
                }
                let ans = encode(&answer(k, &c));
                if let ProbeMsg::Answer(a, _) = check(&ans, &config).unwrap() {
                    p.on_answer(&a);
                }
            }
        }
        assert_eq!(reports, vec![silent]);
    }

    #[test]
    fn forged_stale_and_foreign_probes_are_refused() {
        let (keys, config) = system(5);
        let ms = config.ms_group[0];
        let outsider = keys
            .iter()
            .find(|k| !config.in_ms_group(&NodeId::of(&k.public())))
            .unwrap();
        let c = Challenge {
            epoch: config.epoch,
            from: NodeId::of(&outsider.public()),
            round: 1,
            nonce: [0; 16],
        };
        let msg = encode(&ProbeMsg::Challenge(c, outsider.sign(&c)));
        assert!(matches!(
            check(&msg, &config),
            Err(ProbeError::NotAllowed(_))
        ));
        let forged = Challenge { from: ms, ..c };
        let msg = encode(&ProbeMsg::Challenge(forged, outsider.sign(&forged)));
        assert_eq!(check(&msg, &config), Err(ProbeError::BadSignature));
        let stale = Challenge {
            epoch: Epoch(2),
            ..c
        };
        let msg = encode(&ProbeMsg::Challenge(stale, outsider.sign(&stale)));
        assert!(matches!(
            check(&msg, &config),
            Err(ProbeError::WrongEpoch { .. })
        ));
        assert!(matches!(
            check(&[0xff; 40], &config),
            Err(ProbeError::Malformed(_))
        ));
        // An answer to a challenge that is not open does not count.
        let ms_key = keys.iter().find(|k| NodeId::of(&k.public()) == ms).unwrap();
        let mut p = Prober::new(ms, config.epoch, 1);
        let _ = p.next_round(ms_key, &config, [1; 16]);
        if let ProbeMsg::Answer(a, _) = answer(outsider, &c) {
            p.on_answer(&a);
        }
        let (_, report) = p.next_round(ms_key, &config, [2; 16]);
        assert!(report.contains(&NodeId::of(&outsider.public())));
    }
}
