//! Threshold signing over the network, coordinated by the PBFT primary.
//!
//! The coordinator asks every holder for a round-1 commitment, picks `t` holders, sends them
//! the signing package, and checks each signature share against the holder's public share
//! before aggregating. A holder whose share does not verify is excluded for the rest of the
//! session and a new attempt starts with fresh commitments (a nonce is never reused with a
//! second package). Holders that stay silent are tried last in later attempts. A holder signs
//! only what its `approve` check accepts: an MS replica approves an epoch certificate only for
//! the configuration it executed itself, so a faulty coordinator cannot get anything else
//! signed.

use std::collections::{BTreeMap, BTreeSet};

use frost_ed25519 as frost;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};

use super::nonces::{Asker, NoRoom, NonceBook};
use super::{KeyPackage, PublicKeyPackage, ThresholdError, identifier, to_signature};
use crate::crypto::Signature;
use crate::id::{Hash, NodeId};

/// Largest signing package accepted (a message plus one commitment per holder).
pub const PACKAGE_BYTES_MAX: usize = 64 * 1024;

/// Messages between the coordinator and the holders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignMsg {
    /// Coordinator → every holder: send a commitment for this attempt.
    Commit {
        /// The session.
        session: Hash,
        /// The attempt.
        attempt: u32,
    },
    /// Holder → coordinator.
    Commitment {
        /// The session.
        session: Hash,
        /// The attempt.
        attempt: u32,
        /// A serialized `SigningCommitments`.
        commitment: Vec<u8>,
    },
    /// Coordinator → the chosen holders: sign this package.
    Sign {
        /// The session.
        session: Hash,
        /// The attempt.
        attempt: u32,
        /// A serialized `SigningPackage`.
        package: Vec<u8>,
    },
    /// Holder → coordinator.
    Share {
        /// The session.
        session: Hash,
        /// The attempt.
        attempt: u32,
        /// A serialized `SignatureShare`.
        share: Vec<u8>,
    },
}

/// A holder's answer to a coordinator's request, on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HolderReply {
    /// The commitment or share asked for.
    Msg(SignMsg),
    /// Why the holder will not answer.
    Refused(String),
}

impl SignMsg {
    /// The session the message belongs to.
    pub fn session(&self) -> Hash {
        match self {
            SignMsg::Commit { session, .. }
            | SignMsg::Commitment { session, .. }
            | SignMsg::Sign { session, .. }
            | SignMsg::Share { session, .. } => *session,
        }
    }
}

/// What the coordinator asks its host to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoordAction {
    /// Send to one holder.
    Send {
        /// The holder.
        to: NodeId,
        /// The message.
        msg: SignMsg,
    },
    /// Call [`Coordinator::on_timer`] with `attempt` after `after_ms`.
    SetTimer {
        /// The attempt the timer belongs to.
        attempt: u32,
        /// Delay.
        after_ms: u64,
    },
    /// A holder sent a share that does not verify; it is excluded from this session.
    Excluded {
        /// The holder.
        holder: NodeId,
        /// Why.
        reason: String,
    },
    /// The signature, an ordinary Ed25519 signature under the group key.
    Done(Signature),
}

#[derive(Debug)]
enum Phase {
    Idle,
    Committing {
        commitments: BTreeMap<NodeId, frost::round1::SigningCommitments>,
    },
    Signing {
        package: frost::SigningPackage,
        chosen: BTreeSet<NodeId>,
        shares: BTreeMap<NodeId, frost::round2::SignatureShare>,
    },
    Done,
}

/// The coordinator of one signing session.
#[derive(Debug)]
pub struct Coordinator {
    session: Hash,
    message: Vec<u8>,
    public: PublicKeyPackage,
    threshold: usize,
    holders: Vec<NodeId>,
    excluded: BTreeSet<NodeId>,
    slow: BTreeSet<NodeId>,
    attempt: u32,
    timeout_ms: u64,
    phase: Phase,
}

impl Coordinator {
    /// A session signing `message` with `threshold` of `holders`' shares.
    pub fn new(
        session: Hash,
        message: Vec<u8>,
        public: PublicKeyPackage,
        holders: Vec<NodeId>,
        threshold: usize,
        timeout_ms: u64,
    ) -> Coordinator {
        Coordinator {
            session,
            message,
            public,
            threshold,
            holders,
            excluded: BTreeSet::new(),
            slow: BTreeSet::new(),
            attempt: 0,
            timeout_ms,
            phase: Phase::Idle,
        }
    }

    /// The session id.
    pub fn session(&self) -> Hash {
        self.session
    }

    /// Holders excluded for bad shares.
    pub fn excluded(&self) -> &BTreeSet<NodeId> {
        &self.excluded
    }

    /// The current attempt.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Whether the signature was made.
    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// Starts the first attempt.
    pub fn start(&mut self) -> Vec<CoordAction> {
        self.next_attempt()
    }

    fn next_attempt(&mut self) -> Vec<CoordAction> {
        self.attempt += 1;
        self.phase = Phase::Committing {
            commitments: BTreeMap::new(),
        };
        let mut out: Vec<CoordAction> = self
            .holders
            .iter()
            .filter(|h| !self.excluded.contains(h))
            .map(|h| CoordAction::Send {
                to: *h,
                msg: SignMsg::Commit {
                    session: self.session,
                    attempt: self.attempt,
                },
            })
            .collect();
        out.push(self.timer());
        out
    }

    fn timer(&self) -> CoordAction {
        CoordAction::SetTimer {
            attempt: self.attempt,
            after_ms: self.timeout_ms,
        }
    }

    fn eligible(&self) -> usize {
        self.holders
            .iter()
            .filter(|h| !self.excluded.contains(h))
            .count()
    }

    /// A message from `from`. Anything not expected now is ignored.
    pub fn on_message(&mut self, from: NodeId, msg: SignMsg) -> Vec<CoordAction> {
        if !self.holders.contains(&from) || self.excluded.contains(&from) {
            return Vec::new();
        }
        match msg {
            SignMsg::Commitment {
                session,
                attempt,
                commitment,
            } if session == self.session && attempt == self.attempt => {
                self.on_commitment(from, &commitment)
            }
            SignMsg::Share {
                session,
                attempt,
                share,
            } if session == self.session && attempt == self.attempt => self.on_share(from, &share),
            _ => Vec::new(),
        }
    }

    fn on_commitment(&mut self, from: NodeId, bytes: &[u8]) -> Vec<CoordAction> {
        let Phase::Committing { commitments } = &mut self.phase else {
            return Vec::new();
        };
        let Ok(c) = frost::round1::SigningCommitments::deserialize(bytes) else {
            return self.exclude(from, "malformed commitment".into());
        };
        commitments.insert(from, c);
        if commitments.len() >= self.eligible() {
            return self.ask_for_shares();
        }
        Vec::new()
    }

    /// Picks `t` holders among those that committed, the ones that were slow before last.
    fn ask_for_shares(&mut self) -> Vec<CoordAction> {
        let Phase::Committing { commitments } = &mut self.phase else {
            return Vec::new();
        };
        if commitments.len() < self.threshold {
            return Vec::new();
        }
        let mut order: Vec<NodeId> = commitments.keys().copied().collect();
        order.sort_by_key(|h| self.slow.contains(h));
        let chosen: BTreeSet<NodeId> = order.into_iter().take(self.threshold).collect();
        let picked: BTreeMap<frost::Identifier, frost::round1::SigningCommitments> = chosen
            .iter()
            .filter_map(|h| Some((identifier(h).ok()?, commitments[h])))
            .collect();
        let package = frost::SigningPackage::new(picked, &self.message);
        let Ok(bytes) = package.serialize() else {
            return Vec::new();
        };
        let mut out: Vec<CoordAction> = chosen
            .iter()
            .map(|h| CoordAction::Send {
                to: *h,
                msg: SignMsg::Sign {
                    session: self.session,
                    attempt: self.attempt,
                    package: bytes.clone(),
                },
            })
            .collect();
        self.phase = Phase::Signing {
            package,
            chosen,
            shares: BTreeMap::new(),
        };
        out.push(self.timer());
        out
    }

    fn on_share(&mut self, from: NodeId, bytes: &[u8]) -> Vec<CoordAction> {
        let Phase::Signing {
            package,
            chosen,
            shares,
        } = &mut self.phase
        else {
            return Vec::new();
        };
        if !chosen.contains(&from) {
            return Vec::new();
        }
        let verdict = check_share(&self.public, package, &from, bytes);
        let share = match verdict {
            Ok(s) => s,
            Err(reason) => return self.exclude(from, reason),
        };
        shares.insert(from, share);
        if shares.len() < chosen.len() {
            return Vec::new();
        }
        let by_id: BTreeMap<frost::Identifier, frost::round2::SignatureShare> = shares
            .iter()
            .filter_map(|(h, s)| Some((identifier(h).ok()?, *s)))
            .collect();
        match frost::aggregate(package, &by_id, &self.public)
            .map_err(ThresholdError::from)
            .and_then(|s| to_signature(&s))
        {
            Ok(sig) => {
                self.phase = Phase::Done;
                vec![CoordAction::Done(sig)]
            }
            // Every share verified on its own, so this is not a holder's fault: try again.
            Err(_) => self.next_attempt(),
        }
    }

    fn exclude(&mut self, holder: NodeId, reason: String) -> Vec<CoordAction> {
        self.excluded.insert(holder);
        let mut out = vec![CoordAction::Excluded { holder, reason }];
        out.extend(self.next_attempt());
        out
    }

    /// The timer of `attempt` fired.
    pub fn on_timer(&mut self, attempt: u32) -> Vec<CoordAction> {
        if attempt != self.attempt {
            return Vec::new();
        }
        match &self.phase {
            Phase::Committing { commitments } => {
                let silent: Vec<NodeId> = self
                    .holders
                    .iter()
                    .filter(|h| !self.excluded.contains(h) && !commitments.contains_key(h))
                    .copied()
                    .collect();
                self.slow.extend(silent);
                if commitments.len() >= self.threshold {
                    self.ask_for_shares()
                } else {
                    self.next_attempt()
                }
            }
            Phase::Signing { chosen, shares, .. } => {
                let silent: Vec<NodeId> = chosen
                    .iter()
                    .filter(|h| !shares.contains_key(h))
                    .copied()
                    .collect();
                self.slow.extend(silent);
                // Everyone was slow at some point: start over from what they do now.
                if self.slow.len() + self.excluded.len() >= self.holders.len() {
                    self.slow.clear();
                }
                self.next_attempt()
            }
            Phase::Idle | Phase::Done => Vec::new(),
        }
    }
}

fn check_share(
    public: &PublicKeyPackage,
    package: &frost::SigningPackage,
    from: &NodeId,
    bytes: &[u8],
) -> Result<frost::round2::SignatureShare, String> {
    let share = frost::round2::SignatureShare::deserialize(bytes)
        .map_err(|e| format!("malformed share: {e}"))?;
    let id = identifier(from).map_err(|e| e.to_string())?;
    let verifying = public
        .verifying_shares()
        .get(&id)
        .ok_or("not a holder of this key")?;
    frost_core::verify_signature_share(id, verifying, &share, package, public.verifying_key())
        .map_err(|e| format!("share does not verify: {e}"))?;
    Ok(share)
}

/// Why a holder refused to sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignRefusal {
    /// No commitment of ours for this session and attempt (never made, used, or forgotten).
    #[error("no open nonce for this session and attempt")]
    NoNonce,
    /// The package is too big or does not decode.
    #[error("malformed signing package: {0}")]
    Malformed(String),
    /// The holder's policy does not allow signing this message.
    #[error("this holder does not approve the message")]
    NotApproved,
    /// FROST refused (our commitment missing or altered in the package).
    #[error("{0}")]
    Frost(String),
}

/// Why a holder made no commitment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitRefusal {
    /// No room for this coordinator's class.
    #[error(transparent)]
    NoRoom(#[from] NoRoom),
    /// FROST could not encode the commitment.
    #[error("{0}")]
    Frost(String),
}

/// A holder's side: its key package and the nonces of its open commitments.
pub struct Signer {
    key: KeyPackage,
    nonces: NonceBook,
}

impl Drop for Signer {
    /// A share leaves memory zeroed: a replaced or dropped signer erases it.
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.key);
    }
}

impl Signer {
    /// A signer with `key`.
    pub fn new(key: KeyPackage) -> Signer {
        Signer {
            key,
            nonces: NonceBook::default(),
        }
    }

    /// The key package.
    pub fn key(&self) -> &KeyPackage {
        &self.key
    }

    /// Answers a `Commit` request from `asker`: fresh nonces, kept until used, pushed out by
    /// the same coordinator's newer ones, or expired; refused when outside coordinators hold
    /// all their room.
    pub fn commit<R: CryptoRngCore>(
        &mut self,
        session: Hash,
        attempt: u32,
        asker: Asker,
        rng: &mut R,
    ) -> Result<SignMsg, CommitRefusal> {
        let (nonces, commitment) = frost::round1::commit(self.key.signing_share(), rng);
        let commitment = commitment
            .serialize()
            .map_err(|e| CommitRefusal::Frost(e.to_string()))?;
        self.nonces.keep((session, attempt), nonces, asker)?;
        Ok(SignMsg::Commitment {
            session,
            attempt,
            commitment,
        })
    }

    /// Commitments refused for want of room so far.
    pub fn commits_refused(&self) -> u64 {
        self.nonces.refused()
    }

    /// Answers a `Sign` request if `approve` accepts the message. The nonce is used once.
    pub fn sign(
        &mut self,
        session: Hash,
        attempt: u32,
        package: &[u8],
        approve: impl FnOnce(&[u8]) -> bool,
    ) -> Result<SignMsg, SignRefusal> {
        if package.len() > PACKAGE_BYTES_MAX {
            return Err(SignRefusal::Malformed(format!(
                "{} bytes, at most {PACKAGE_BYTES_MAX}",
                package.len()
            )));
        }
        let package = frost::SigningPackage::deserialize(package)
            .map_err(|e| SignRefusal::Malformed(e.to_string()))?;
        if !approve(package.message()) {
            return Err(SignRefusal::NotApproved);
        }
        let nonces = self
            .nonces
            .take(&(session, attempt))
            .ok_or(SignRefusal::NoNonce)?;
        let share = frost::round2::sign(&package, &nonces, &self.key)
            .map_err(|e| SignRefusal::Frost(e.to_string()))?;
        Ok(SignMsg::Share {
            session,
            attempt,
            share: share.serialize(),
        })
    }
}
