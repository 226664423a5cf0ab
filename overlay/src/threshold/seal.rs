//! Sub-shares sealed to their receiver's node key, so that a whole dealing can be ordered
//! through PBFT in public and still give each new holder a value only it can read.
//!
//! Hashed ElGamal on the Ed25519 curve: the dealer picks `r`, publishes `R = r·G`, and masks
//! the sub-share with `H(R, r·A)`, where `A` is the receiver's Ed25519 public key as a point.
//! The receiver computes `a·R` with its own key. If the receiver complains, the dealer reveals
//! `r`; anyone then recomputes the mask, opens the sub-share and checks it against the
//! dealing's commitments, which settles the complaint without trusting either side. (Using a
//! signing key for this Diffie-Hellman is analysed in Thormarker, ePrint 2021/509.)

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};

use super::ThresholdError;
use super::field;
use crate::crypto::{PublicKey, SecretKey};
use crate::id::{Hash, NodeId};

const DOMAIN: &[u8] = b"rampart/v1/reshare-seal\0";

/// A sub-share sealed to one receiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// The receiver.
    pub receiver: NodeId,
    /// `R = r·G`, compressed.
    pub ephemeral: [u8; 32],
    /// The sub-share XOR the mask.
    pub masked: [u8; 32],
}

/// Everything the mask depends on besides the shared point.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// The rotation.
    pub session: &'a Hash,
    /// The dealer.
    pub dealer: &'a NodeId,
}

fn mask(
    ctx: Context<'_>,
    receiver: &NodeId,
    ephemeral: &[u8; 32],
    shared: &EdwardsPoint,
) -> [u8; 32] {
    let mut h = Sha512::new();
    h.update(DOMAIN);
    h.update(ctx.session.0);
    h.update(ctx.dealer.0.0);
    h.update(receiver.0.0);
    h.update(ephemeral);
    h.update(shared.compress().as_bytes());
    let wide = h.finalize();
    let mut out = [0u8; 32];
    out.copy_from_slice(&wide[..32]);
    out
}

fn xor(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for i in 0..32 {
        out[i] = a[i] ^ b[i];
    }
    out
}

fn receiver_point(key: &PublicKey) -> Result<EdwardsPoint, ThresholdError> {
    field::point(key.as_bytes())
}

/// Seals `value` to `receiver`; returns the sealed value and the ephemeral secret `r`, which
/// the dealer keeps until the rotation ends in case it must answer a complaint.
pub fn seal<R: CryptoRngCore>(
    ctx: Context<'_>,
    receiver: &PublicKey,
    value: &Scalar,
    rng: &mut R,
) -> Result<(Sealed, Scalar), ThresholdError> {
    let a = receiver_point(receiver)?;
    let r = field::random_scalar(rng);
    let ephemeral = EdwardsPoint::mul_base(&r).compress().to_bytes();
    let id = NodeId::of(receiver);
    let m = mask(ctx, &id, &ephemeral, &(a * r));
    Ok((
        Sealed {
            receiver: id,
            ephemeral,
            masked: xor(&value.to_bytes(), &m),
        },
        r,
    ))
}

/// The receiver opens a sealed value with its node key.
pub fn open(ctx: Context<'_>, sealed: &Sealed, me: &SecretKey) -> Result<Scalar, ThresholdError> {
    let r_point = field::point(&sealed.ephemeral)?;
    let shared = r_point * me.dh_scalar();
    let m = mask(ctx, &sealed.receiver, &sealed.ephemeral, &shared);
    field::scalar(&xor(&sealed.masked, &m))
}

/// Anyone opens a sealed value with the ephemeral secret the dealer revealed, after checking
/// that it is the one the dealing committed to.
pub fn open_revealed(
    ctx: Context<'_>,
    sealed: &Sealed,
    receiver: &PublicKey,
    r: &Scalar,
) -> Result<Scalar, ThresholdError> {
    if EdwardsPoint::mul_base(r).compress().to_bytes() != sealed.ephemeral {
        return Err(ThresholdError::Frost(
            "revealed secret does not match the sealed value".into(),
        ));
    }
    let a = receiver_point(receiver)?;
    let m = mask(ctx, &sealed.receiver, &sealed.ephemeral, &(a * r));
    field::scalar(&xor(&sealed.masked, &m))
}
