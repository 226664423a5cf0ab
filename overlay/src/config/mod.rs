//! Configurations (one per epoch) and the deltas between them (DESIGN.md §3).
//!
//! A [`Configuration`] is the whole membership of an epoch. Its hash is SHA-256 over its
//! canonical encoding in the `configuration` domain and is what epoch certificates sign.
//! Members are kept sorted by node id and unique, so equal memberships encode identically.

mod delta;
mod member;
mod ms_group;

pub use delta::{Delta, DeltaError};
pub use member::Member;
pub use ms_group::{choose_ms_group, ms_group_size};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::constants::{CONFIG_BYTES_MAX, F_MAX, MEMBERS_MAX, VNODES_MAX};
use crate::encoding::{DecodeError, Domain, decode, domain_bytes, encode};
use crate::id::{ClientId, Epoch, Hash, NodeId};
use crate::time::Timestamp;

/// The membership of one epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Configuration {
    /// The epoch number.
    pub epoch: Epoch,
    /// Members, sorted by node id, unique.
    pub members: Vec<Member>,
    /// The MS group of this epoch: node ids of members, sorted, unique.
    pub ms_group: Vec<NodeId>,
    /// Faults tolerated per replica group; groups have 3f+1 members.
    pub f: u32,
    /// Faults tolerated in the MS group; it has 3·f_ms+1 members.
    pub f_ms: u32,
    /// Positions each member takes on the ring.
    pub vnodes: u32,
    /// Revoked clients, each with the time after which its credentials expire anyway.
    pub revoked: BTreeMap<ClientId, Timestamp>,
}

impl Domain for Configuration {
    const DOMAIN: &'static str = "configuration";
}

/// Why a configuration is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The bytes do not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A rule of the type is broken.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Configuration {
    /// SHA-256 over the canonical encoding in the `configuration` domain.
    pub fn hash(&self) -> Hash {
        Hash::of(&[&domain_bytes(self)])
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes and validates a configuration.
    pub fn from_bytes(bytes: &[u8]) -> Result<Configuration, ConfigError> {
        let config: Configuration = decode(bytes, CONFIG_BYTES_MAX)?;
        config.validate()?;
        Ok(config)
    }

    /// The member with id `id`, if any.
    pub fn member(&self, id: &NodeId) -> Option<&Member> {
        self.members
            .binary_search_by(|m| m.id().cmp(id))
            .ok()
            .map(|i| &self.members[i])
    }

    /// Whether `id` is in this epoch's MS group.
    pub fn in_ms_group(&self, id: &NodeId) -> bool {
        self.ms_group.binary_search(id).is_ok()
    }

    /// Checks every rule the type cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        if self.members.is_empty() || self.members.len() > MEMBERS_MAX {
            return bad(format!(
                "needs 1 to {MEMBERS_MAX} members, has {}",
                self.members.len()
            ));
        }
        if self.f > F_MAX || self.f_ms > F_MAX {
            return bad(format!("f and f_ms must be at most {F_MAX}"));
        }
        if self.vnodes == 0 || self.vnodes > VNODES_MAX {
            return bad(format!(
                "vnodes must be 1 to {VNODES_MAX}, is {}",
                self.vnodes
            ));
        }
        let ids: Vec<NodeId> = self.members.iter().map(Member::id).collect();
        if !ids.windows(2).all(|w| w[0] < w[1]) {
            return bad("members are not sorted by id or repeat".into());
        }
        for m in &self.members {
            m.check().map_err(ConfigError::Invalid)?;
        }
        if !self.ms_group.windows(2).all(|w| w[0] < w[1]) {
            return bad("MS group is not sorted or repeats".into());
        }
        if self.ms_group.len() != ms_group_size(self.f_ms, self.members.len()) {
            return bad(format!(
                "MS group has {} members; f_ms={} with {} members needs {}",
                self.ms_group.len(),
                self.f_ms,
                self.members.len(),
                ms_group_size(self.f_ms, self.members.len())
            ));
        }
        if let Some(x) = self.ms_group.iter().find(|x| ids.binary_search(x).is_err()) {
            return bad(format!("MS group lists {x:?}, which is not a member"));
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests;
