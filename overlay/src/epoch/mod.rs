//! Epoch certificates and the node's view of the current epoch.
//!
//! An epoch certificate is the MS threshold signature over (epoch, configuration hash, delta
//! hash). It is an ordinary Ed25519 signature under the MS public key, which never changes, so
//! a node that was away for many epochs verifies the newest configuration with one check.

pub mod news;
mod tracker;

pub use tracker::{EpochTracker, Offer, OfferError};

use serde::{Deserialize, Serialize};

use crate::crypto::{self, PublicKey, Signature};
use crate::encoding::Domain;
use crate::id::{Epoch, Hash};

/// What the MS signs for each epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochStatement {
    /// The epoch.
    pub epoch: Epoch,
    /// Hash of its full configuration.
    pub config_hash: Hash,
    /// Hash of the delta from the previous epoch; all zero at genesis.
    pub delta_hash: Hash,
}

impl Domain for EpochStatement {
    const DOMAIN: &'static str = "epoch";
}

/// An epoch statement with the MS threshold signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochCert {
    /// The signed statement.
    pub statement: EpochStatement,
    /// The MS group's signature.
    pub signature: Signature,
}

/// The epoch certificate does not verify under the MS public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("epoch certificate for epoch {0} does not verify under the MS public key")]
pub struct BadEpochCert(pub Epoch);

impl EpochCert {
    /// Checks the signature under the well-known MS public key.
    pub fn verify(&self, ms_key: &PublicKey) -> Result<(), BadEpochCert> {
        crypto::verify(ms_key, &self.statement, &self.signature)
            .map_err(|_| BadEpochCert(self.statement.epoch))
    }

    /// The hash of the certificate; seeds the next MS group draw.
    pub fn hash(&self) -> Hash {
        Hash::of(&[&crate::encoding::encode(self)])
    }
}
