//! Conversions between FROST's Ed25519 types and curve25519-dalek's scalars and points, for
//! the arithmetic FROST does not offer (redistributing shares to a new group). Every point
//! that arrives from outside is checked to lie in the prime-order subgroup: a small-order
//! component would let a dealer pass a commitment check for some receivers and not others.

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use frost_ed25519 as frost;
use rand_core::CryptoRngCore;

use super::ThresholdError;

fn bad(what: &str) -> ThresholdError {
    ThresholdError::Frost(format!("malformed {what}"))
}

/// A canonical scalar from 32 bytes.
pub fn scalar(bytes: &[u8]) -> Result<Scalar, ThresholdError> {
    let arr: [u8; 32] = bytes.try_into().map_err(|_| bad("scalar"))?;
    Option::from(Scalar::from_canonical_bytes(arr)).ok_or_else(|| bad("scalar"))
}

/// A point of the prime-order subgroup from its 32-byte compressed form.
pub fn point(bytes: &[u8]) -> Result<EdwardsPoint, ThresholdError> {
    let arr: [u8; 32] = bytes.try_into().map_err(|_| bad("point"))?;
    let p = CompressedEdwardsY(arr)
        .decompress()
        .ok_or_else(|| bad("point"))?;
    if !p.is_torsion_free() {
        return Err(bad("point (not in the prime-order subgroup)"));
    }
    Ok(p)
}

/// The x-coordinate FROST evaluates a holder's polynomial at.
pub fn x_of(id: &frost::Identifier) -> Result<Scalar, ThresholdError> {
    scalar(&id.serialize())
}

/// A uniformly random scalar.
pub fn random_scalar<R: CryptoRngCore>(rng: &mut R) -> Scalar {
    let mut wide = [0u8; 64];
    rng.fill_bytes(&mut wide);
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// The Lagrange coefficient at zero of `x_i` over the set `xs` (which contains `x_i`).
pub fn lagrange_at_zero(x_i: &Scalar, xs: &[Scalar]) -> Result<Scalar, ThresholdError> {
    let mut num = Scalar::ONE;
    let mut den = Scalar::ONE;
    for x_j in xs.iter().filter(|x| *x != x_i) {
        num *= x_j;
        den *= x_j - x_i;
    }
    if den == Scalar::ZERO {
        return Err(ThresholdError::Frost("duplicate holder identifier".into()));
    }
    Ok(num * den.invert())
}

/// Evaluates the polynomial with `coefficients` (constant first) at `x`.
pub fn eval(coefficients: &[Scalar], x: &Scalar) -> Scalar {
    coefficients
        .iter()
        .rev()
        .fold(Scalar::ZERO, |acc, c| acc * x + c)
}

/// Evaluates the committed polynomial `Σ C_k x^k` in the exponent.
pub fn eval_commitment(commitment: &[EdwardsPoint], x: &Scalar) -> EdwardsPoint {
    commitment
        .iter()
        .rev()
        .fold(EdwardsPoint::identity(), |acc, c| acc * x + c)
}

/// A holder's FROST secret share as a scalar.
pub fn signing_share(key: &frost::keys::KeyPackage) -> Result<Scalar, ThresholdError> {
    scalar(&key.signing_share().serialize())
}

/// A holder's public share as a point.
pub fn verifying_share(
    share: &frost::keys::VerifyingShare,
) -> Result<EdwardsPoint, ThresholdError> {
    point(&share.serialize()?)
}

/// Converts a point back to a FROST verifying share.
pub fn to_verifying_share(p: &EdwardsPoint) -> Result<frost::keys::VerifyingShare, ThresholdError> {
    Ok(frost::keys::VerifyingShare::deserialize(
        p.compress().as_bytes(),
    )?)
}

/// Converts a point back to a FROST group key.
pub fn to_verifying_key(p: &EdwardsPoint) -> Result<frost::VerifyingKey, ThresholdError> {
    Ok(frost::VerifyingKey::deserialize(p.compress().as_bytes())?)
}

/// Converts a scalar back to a FROST secret share.
pub fn to_signing_share(s: &Scalar) -> Result<frost::keys::SigningShare, ThresholdError> {
    Ok(frost::keys::SigningShare::deserialize(s.as_bytes())?)
}
