//! The MS threshold key: FROST over Ed25519 (RFC 9591), so that f_ms+1 share holders produce
//! an ordinary Ed25519 signature under one public key that never changes.
//!
//! This module holds the pure parts: dealing shares at genesis, the two signing rounds and
//! aggregation, and the conversions to the plain Ed25519 types everything else verifies with.
//! Randomness is always an argument.

use std::collections::BTreeMap;

use frost_ed25519 as frost;
use rand_core::CryptoRngCore;

use crate::crypto::{PublicKey, Signature};
use crate::id::NodeId;

pub mod field;
pub mod nonces;
pub mod reshare;
pub mod seal;
pub mod session;
#[cfg(test)]
mod tests;

pub use frost::keys::{KeyPackage, PublicKeyPackage};

/// Why a threshold operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThresholdError {
    /// The FROST library refused the operation.
    #[error("threshold signature error: {0}")]
    Frost(String),
    /// Fewer shares than the threshold.
    #[error("{got} shares given, {need} needed")]
    TooFewShares {
        /// Shares given.
        got: usize,
        /// The threshold.
        need: usize,
    },
}

impl From<frost::Error> for ThresholdError {
    fn from(e: frost::Error) -> Self {
        ThresholdError::Frost(e.to_string())
    }
}

/// The FROST identifier of an MS member: derived from its node id, so it never depends on
/// the member's position in a list.
pub fn identifier(node: &NodeId) -> Result<frost::Identifier, ThresholdError> {
    Ok(frost::Identifier::derive(&node.0.0)?)
}

/// Shares dealt at genesis: the public package and one key package per holder.
pub struct Dealt {
    /// Group key and every holder's verifying share.
    pub public: PublicKeyPackage,
    /// Each holder's secret share.
    pub shares: BTreeMap<NodeId, KeyPackage>,
}

/// Deals a fresh MS key to `holders` with threshold `f_ms + 1`.
pub fn deal<R: CryptoRngCore>(
    holders: &[NodeId],
    f_ms: u32,
    rng: &mut R,
) -> Result<Dealt, ThresholdError> {
    let ids: Vec<frost::Identifier> = holders.iter().map(identifier).collect::<Result<_, _>>()?;
    let by_id: BTreeMap<frost::Identifier, NodeId> =
        ids.iter().copied().zip(holders.iter().copied()).collect();
    let max = u16::try_from(holders.len()).map_err(|_| ThresholdError::Frost("too many".into()))?;
    let min = u16::try_from(f_ms + 1).map_err(|_| ThresholdError::Frost("f_ms too big".into()))?;
    let (secret_shares, public) = frost::keys::generate_with_dealer(
        max,
        min,
        frost::keys::IdentifierList::Custom(&ids),
        &mut *rng,
    )?;
    let mut shares = BTreeMap::new();
    for (id, share) in secret_shares {
        let node = by_id[&id];
        shares.insert(node, KeyPackage::try_from(share)?);
    }
    Ok(Dealt { public, shares })
}

/// The group's public key as a plain Ed25519 key.
pub fn group_key(public: &PublicKeyPackage) -> Result<PublicKey, ThresholdError> {
    let bytes = public.verifying_key().serialize()?;
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| ThresholdError::Frost("group key is not 32 bytes".into()))?;
    PublicKey::from_bytes(&arr).map_err(|e| ThresholdError::Frost(e.to_string()))
}

/// Runs both FROST rounds with the given holders in one place and aggregates. Used where one
/// party legitimately holds several shares (the admin at genesis, simulations); the networked
/// coordinator runs the same rounds over messages.
pub fn sign_locally<R: CryptoRngCore>(
    shares: &[&KeyPackage],
    public: &PublicKeyPackage,
    message: &[u8],
    rng: &mut R,
) -> Result<Signature, ThresholdError> {
    let need = shares
        .first()
        .map(|k| *k.min_signers() as usize)
        .unwrap_or(1);
    if shares.len() < need {
        return Err(ThresholdError::TooFewShares {
            got: shares.len(),
            need,
        });
    }
    let mut nonces = BTreeMap::new();
    let mut commitments = BTreeMap::new();
    for k in shares {
        let (n, c) = frost::round1::commit(k.signing_share(), &mut *rng);
        nonces.insert(*k.identifier(), n);
        commitments.insert(*k.identifier(), c);
    }
    let package = frost::SigningPackage::new(commitments, message);
    let mut sig_shares = BTreeMap::new();
    for k in shares {
        let s = frost::round2::sign(&package, &nonces[k.identifier()], k)?;
        sig_shares.insert(*k.identifier(), s);
    }
    let sig = frost::aggregate(&package, &sig_shares, public)?;
    to_signature(&sig)
}

/// A FROST signature as a plain Ed25519 signature.
pub fn to_signature(sig: &frost::Signature) -> Result<Signature, ThresholdError> {
    let bytes = sig.serialize()?;
    let arr: [u8; 64] = bytes
        .try_into()
        .map_err(|_| ThresholdError::Frost("signature is not 64 bytes".into()))?;
    Ok(Signature::from_bytes(&arr))
}
