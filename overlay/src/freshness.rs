//! Freshness certificates: the MS's threshold signature over a client's nonce and the current
//! epoch, so a client that has been away can learn the current epoch from any node and trust
//! it with the MS public key alone (Rodrigues et al. 2012 §4).

use serde::{Deserialize, Serialize};

use crate::crypto::{self, PublicKey, Signature};
use crate::encoding::{Domain, decode_domain, domain_bytes};
use crate::id::Epoch;

/// What the MS signs: "at the time you asked (your nonce), the epoch was this".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreshnessStatement {
    /// The asker's nonce.
    pub nonce: [u8; 32],
    /// The current epoch.
    pub epoch: Epoch,
}

impl Domain for FreshnessStatement {
    const DOMAIN: &'static str = "freshness";
}

impl FreshnessStatement {
    /// The bytes the MS signs.
    pub fn signed_bytes(&self) -> Vec<u8> {
        domain_bytes(self)
    }

    /// The statement `bytes` are the signed bytes of, if they are one.
    pub fn from_signed_bytes(bytes: &[u8]) -> Option<FreshnessStatement> {
        decode_domain(bytes, 64)
    }
}

/// A freshness statement with the MS threshold signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreshnessCert {
    /// The statement.
    pub statement: FreshnessStatement,
    /// An ordinary Ed25519 signature under the MS public key.
    pub signature: Signature,
}

/// The freshness certificate does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("freshness certificate does not verify under the MS public key")]
pub struct BadFreshnessCert;

impl FreshnessCert {
    /// Checks the signature under the MS public key.
    pub fn verify(&self, ms_key: &PublicKey) -> Result<(), BadFreshnessCert> {
        crypto::verify(ms_key, &self.statement, &self.signature).map_err(|_| BadFreshnessCert)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_bytes_round_trip_and_other_domains_are_not_statements() {
        let s = FreshnessStatement {
            nonce: [7; 32],
            epoch: Epoch(3),
        };
        assert_eq!(
            FreshnessStatement::from_signed_bytes(&s.signed_bytes()),
            Some(s)
        );
        let epoch = crate::epoch::EpochStatement {
            epoch: Epoch(3),
            config_hash: Default::default(),
            delta_hash: Default::default(),
        };
        assert_eq!(
            FreshnessStatement::from_signed_bytes(&domain_bytes(&epoch)),
            None
        );
        let mut trailing = s.signed_bytes();
        trailing.push(0);
        assert_eq!(FreshnessStatement::from_signed_bytes(&trailing), None);
    }
}
