//! The difference between two consecutive configurations, and applying it.
//!
//! Nodes that follow every epoch receive only deltas. Applying a delta checks that it starts
//! from the configuration the node holds and that the result hashes to the value the delta
//! (and the epoch certificate that signs the delta's hash) promises.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Configuration, Member};
use crate::encoding::{Domain, domain_bytes};
use crate::id::{ClientId, Epoch, Hash, NodeId};
use crate::time::Timestamp;

/// What changed from epoch `from` to epoch `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delta {
    /// The epoch this delta applies to.
    pub from: Epoch,
    /// Hash of the configuration it applies to.
    pub from_hash: Hash,
    /// The epoch it produces.
    pub to: Epoch,
    /// Hash of the configuration it produces.
    pub to_hash: Hash,
    /// Members that join or change their addresses, sorted by id.
    pub upserted: Vec<Member>,
    /// Members that leave, sorted.
    pub removed: Vec<NodeId>,
    /// The new MS group (it rotates every epoch, so it is always carried whole).
    pub ms_group: Vec<NodeId>,
    /// The new f.
    pub f: u32,
    /// The new f_ms.
    pub f_ms: u32,
    /// The new vnode count.
    pub vnodes: u32,
    /// Clients revoked in this epoch.
    pub revoked_added: Vec<(ClientId, Timestamp)>,
    /// Revocations dropped because the credentials they covered have expired.
    pub revoked_dropped: Vec<ClientId>,
}

impl Domain for Delta {
    const DOMAIN: &'static str = "delta";
}

/// Why a delta could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeltaError {
    /// The delta starts from another configuration.
    #[error(
        "delta applies to epoch {want_epoch} ({want_hash:?}), this is epoch {have_epoch} ({have_hash:?})"
    )]
    WrongBase {
        /// The epoch the delta wants.
        want_epoch: Epoch,
        /// The hash the delta wants.
        want_hash: Hash,
        /// The epoch held.
        have_epoch: Epoch,
        /// The hash held.
        have_hash: Hash,
    },
    /// The result does not hash to what the delta promises.
    #[error("applying the delta gives {got:?}, the delta promises {want:?}")]
    ResultMismatch {
        /// The promised hash.
        want: Hash,
        /// The hash obtained.
        got: Hash,
    },
    /// The delta removes a node that is not a member, or is otherwise inconsistent.
    #[error("inconsistent delta: {0}")]
    Inconsistent(String),
}

impl Delta {
    /// The delta that turns `a` into `b`.
    pub fn between(a: &Configuration, b: &Configuration) -> Delta {
        let old: BTreeMap<NodeId, &Member> = a.members.iter().map(|m| (m.id(), m)).collect();
        let new: BTreeMap<NodeId, &Member> = b.members.iter().map(|m| (m.id(), m)).collect();
        let upserted = new
            .iter()
            .filter(|(id, m)| old.get(id) != Some(m))
            .map(|(_, m)| (*m).clone())
            .collect();
        let removed = old
            .keys()
            .filter(|id| !new.contains_key(id))
            .copied()
            .collect();
        let revoked_added = b
            .revoked
            .iter()
            .filter(|(c, t)| a.revoked.get(c) != Some(t))
            .map(|(c, t)| (*c, *t))
            .collect();
        let revoked_dropped = a
            .revoked
            .keys()
            .filter(|c| !b.revoked.contains_key(c))
            .copied()
            .collect();
        Delta {
            from: a.epoch,
            from_hash: a.hash(),
            to: b.epoch,
            to_hash: b.hash(),
            upserted,
            removed,
            ms_group: b.ms_group.clone(),
            f: b.f,
            f_ms: b.f_ms,
            vnodes: b.vnodes,
            revoked_added,
            revoked_dropped,
        }
    }

    /// SHA-256 over the canonical encoding in the `delta` domain.
    pub fn hash(&self) -> Hash {
        Hash::of(&[&domain_bytes(self)])
    }

    /// Applies the delta to `base`, checking both ends.
    pub fn apply(&self, base: &Configuration) -> Result<Configuration, DeltaError> {
        let have_hash = base.hash();
        if base.epoch != self.from || have_hash != self.from_hash {
            return Err(DeltaError::WrongBase {
                want_epoch: self.from,
                want_hash: self.from_hash,
                have_epoch: base.epoch,
                have_hash,
            });
        }
        let mut members: BTreeMap<NodeId, Member> =
            base.members.iter().map(|m| (m.id(), m.clone())).collect();
        for id in &self.removed {
            if members.remove(id).is_none() {
                return Err(DeltaError::Inconsistent(format!(
                    "removes {id:?}, not a member"
                )));
            }
        }
        for m in &self.upserted {
            members.insert(m.id(), m.clone());
        }
        let mut revoked = base.revoked.clone();
        for c in &self.revoked_dropped {
            revoked.remove(c);
        }
        revoked.extend(self.revoked_added.iter().copied());
        let next = Configuration {
            epoch: self.to,
            members: members.into_values().collect(),
            ms_group: self.ms_group.clone(),
            f: self.f,
            f_ms: self.f_ms,
            vnodes: self.vnodes,
            revoked,
        };
        let got = next.hash();
        if got != self.to_hash {
            return Err(DeltaError::ResultMismatch {
                want: self.to_hash,
                got,
            });
        }
        Ok(next)
    }
}
