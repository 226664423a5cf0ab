//! Moving the MS key to a new group without ever assembling it: verifiable redistribution
//! (Desmedt–Jajodia with Feldman commitments, as in Rodrigues et al. 2012 §4).
//!
//! Each old holder `i` shares its own share `s_i` with a fresh polynomial `g_i` of the new
//! degree and publishes a dealing: Feldman commitments `C_ik = g_ik·G` and, for every new
//! holder `j`, `g_i(x_j)` sealed to `j`'s node key ([`super::seal`]). Anyone checks `C_i0`
//! against the old public share `Y_i`; receiver `j` opens its value and checks it against the
//! commitments. Because the sealed values are inside the dealing, ordering the dealing through
//! PBFT fixes what every receiver gets, and a complaint is settled in public by the dealer
//! revealing that receiver's ephemeral secret.
//!
//! Once the dealers `S` are agreed, new holder `j`'s share is `Σ_{i∈S} λ_i^S g_i(x_j)`: the
//! Lagrange weight is applied by the receiver rather than the dealer, so a dealing stays valid
//! whichever `t_old` dealers end up in `S` (the sum equals that of pre-weighted dealings). The
//! group key is `Σ λ_i C_i0 = Σ λ_i Y_i`, the old key, and every new public share follows from
//! the commitments alone.

use std::collections::{BTreeMap, BTreeSet};

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use super::field::{self, x_of};
use super::seal::{self, Sealed};
use super::{KeyPackage, PublicKeyPackage, ThresholdError, identifier};
use crate::crypto::{PublicKey, SecretKey};
use crate::id::{Hash, NodeId};

/// Why a dealing, a sub-share or a combination was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReshareError {
    /// The dealer holds no share of the old group.
    #[error("{0} is not a holder of the old group")]
    NotOldHolder(NodeId),
    /// The receiver is not in the new group.
    #[error("{0} is not a holder of the new group")]
    NotNewHolder(NodeId),
    /// For another rotation.
    #[error("dealing for another rotation")]
    WrongSession,
    /// The committed polynomial has the wrong degree.
    #[error("dealing commits to {got} coefficients, {want} expected")]
    WrongDegree {
        /// Coefficients committed.
        got: usize,
        /// The new threshold.
        want: usize,
    },
    /// The sealed values are not one per new holder, in the plan's order.
    #[error("dealing does not seal one value to each new holder")]
    WrongReceivers,
    /// The dealing does not share the dealer's own old share.
    #[error("dealing from {0} does not commit to its old public share")]
    ConstantMismatch(NodeId),
    /// The sub-share does not match the dealer's commitments.
    #[error("sub-share from {0} does not match its commitments")]
    BadSubShare(NodeId),
    /// The revealed secret is not the one the dealing used.
    #[error("revealed secret from {0} does not match its dealing")]
    BadReveal(NodeId),
    /// Not enough valid dealings to rebuild the key.
    #[error("{got} valid dealings, {need} needed")]
    TooFewDealings {
        /// Valid dealings given.
        got: usize,
        /// The old threshold.
        need: usize,
    },
    /// The same dealer twice.
    #[error("two dealings from {0}")]
    DuplicateDealer(NodeId),
    /// The combined key differs from the old one (cannot happen with verified dealings).
    #[error("the redistributed group key differs from the old one")]
    KeyChanged,
    /// A group element or scalar did not decode.
    #[error(transparent)]
    Threshold(#[from] ThresholdError),
}

/// One rotation: who holds the key now, who will, with which thresholds. Every party derives
/// the same plan from the certified configurations of the two epochs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Binds dealings to this rotation (the hash of the statement that closes the epoch).
    pub session: Hash,
    /// The old group's public package.
    pub old: PublicKeyPackage,
    /// Shares needed to sign in the old group.
    pub old_threshold: usize,
    /// The new group's node keys, in the order their sealed values appear.
    pub new_holders: Vec<PublicKey>,
    /// Shares needed to sign in the new group.
    pub new_threshold: usize,
}

/// An old holder's public redistribution message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dealing {
    /// The old holder dealing.
    pub dealer: NodeId,
    /// The rotation.
    pub session: Hash,
    /// Compressed points `g_k·G`, constant term first.
    pub commitment: Vec<[u8; 32]>,
    /// `g(x_j)` sealed to each new holder `j`, in the plan's order.
    pub sealed: Vec<Sealed>,
}

impl Dealing {
    /// The dealing's hash (what a new holder's acknowledgement names).
    pub fn hash(&self) -> Hash {
        Hash::of(&[b"rampart/v1/dealing\0", &crate::encoding::encode(self)])
    }
}

/// What a dealer keeps until the rotation ends: the ephemeral secret of each sealed value,
/// revealed only to settle a complaint.
pub struct Ephemerals(BTreeMap<NodeId, Scalar>);

impl Ephemerals {
    /// The secret for `receiver`'s value.
    pub fn get(&self, receiver: &NodeId) -> Option<Scalar> {
        self.0.get(receiver).copied()
    }
}

impl Drop for Ephemerals {
    fn drop(&mut self) {
        self.0.values_mut().for_each(Zeroize::zeroize);
    }
}

impl Plan {
    fn old_share_of(&self, dealer: &NodeId) -> Result<EdwardsPoint, ReshareError> {
        let share = self
            .old
            .verifying_shares()
            .get(&identifier(dealer)?)
            .ok_or(ReshareError::NotOldHolder(*dealer))?;
        Ok(field::verifying_share(share)?)
    }

    /// The new holders' ids, in order.
    pub fn new_ids(&self) -> Vec<NodeId> {
        self.new_holders.iter().map(NodeId::of).collect()
    }

    fn new_key(&self, node: &NodeId) -> Result<&PublicKey, ReshareError> {
        self.new_holders
            .iter()
            .find(|k| NodeId::of(k) == *node)
            .ok_or(ReshareError::NotNewHolder(*node))
    }
}

/// Old holder `key` deals its share to the new group.
pub fn deal<R: CryptoRngCore>(
    plan: &Plan,
    me: NodeId,
    key: &KeyPackage,
    rng: &mut R,
) -> Result<(Dealing, Ephemerals), ReshareError> {
    plan.old_share_of(&me)?;
    let mut coefficients = Vec::with_capacity(plan.new_threshold);
    coefficients.push(field::signing_share(key)?);
    for _ in 1..plan.new_threshold {
        coefficients.push(field::random_scalar(rng));
    }
    let commitment = coefficients
        .iter()
        .map(|c| EdwardsPoint::mul_base(c).compress().to_bytes())
        .collect();
    let ctx = seal::Context {
        session: &plan.session,
        dealer: &me,
    };
    let mut sealed = Vec::with_capacity(plan.new_holders.len());
    let mut ephemerals = BTreeMap::new();
    for receiver in &plan.new_holders {
        let id = NodeId::of(receiver);
        let mut value = field::eval(&coefficients, &x_of(&identifier(&id)?)?);
        let (s, r) = seal::seal(ctx, receiver, &value, rng)?;
        value.zeroize();
        sealed.push(s);
        ephemerals.insert(id, r);
    }
    coefficients.zeroize();
    let dealing = Dealing {
        dealer: me,
        session: plan.session,
        commitment,
        sealed,
    };
    Ok((dealing, Ephemerals(ephemerals)))
}

/// Checks a dealing anyone can see: from an old holder, for this rotation, of the new degree,
/// one sealed value per new holder, and sharing exactly the dealer's old share. Returns the
/// committed points.
pub fn check_dealing(plan: &Plan, d: &Dealing) -> Result<Vec<EdwardsPoint>, ReshareError> {
    if d.session != plan.session {
        return Err(ReshareError::WrongSession);
    }
    let expected = plan.old_share_of(&d.dealer)?;
    if d.commitment.len() != plan.new_threshold {
        return Err(ReshareError::WrongDegree {
            got: d.commitment.len(),
            want: plan.new_threshold,
        });
    }
    let receivers: Vec<NodeId> = d.sealed.iter().map(|s| s.receiver).collect();
    if receivers != plan.new_ids() {
        return Err(ReshareError::WrongReceivers);
    }
    let points = d
        .commitment
        .iter()
        .map(|c| field::point(c))
        .collect::<Result<Vec<_>, _>>()?;
    if points[0] != expected {
        return Err(ReshareError::ConstantMismatch(d.dealer));
    }
    Ok(points)
}

fn sealed_for<'d>(d: &'d Dealing, receiver: &NodeId) -> Result<&'d Sealed, ReshareError> {
    d.sealed
        .iter()
        .find(|s| s.receiver == *receiver)
        .ok_or(ReshareError::NotNewHolder(*receiver))
}

fn check_value(
    points: &[EdwardsPoint],
    receiver: &NodeId,
    value: &Scalar,
    dealer: &NodeId,
) -> Result<(), ReshareError> {
    let x = x_of(&identifier(receiver)?)?;
    if EdwardsPoint::mul_base(value) != field::eval_commitment(points, &x) {
        return Err(ReshareError::BadSubShare(*dealer));
    }
    Ok(())
}

/// New holder `me` opens and checks its value in a dealing. `BadSubShare` is the ground for a
/// complaint.
pub fn open(plan: &Plan, d: &Dealing, me: &SecretKey) -> Result<Scalar, ReshareError> {
    let points = check_dealing(plan, d)?;
    let id = NodeId::of(&me.public());
    let ctx = seal::Context {
        session: &plan.session,
        dealer: &d.dealer,
    };
    let value = seal::open(ctx, sealed_for(d, &id)?, me)
        .map_err(|_| ReshareError::BadSubShare(d.dealer))?;
    check_value(&points, &id, &value, &d.dealer)?;
    Ok(value)
}

/// Settles a complaint: with the ephemeral secret `r` the dealer revealed, anyone opens
/// `receiver`'s value. `Ok` means the dealing was right (the value is now public); an error
/// of `BadSubShare` proves the dealer wrong; `BadReveal` means `r` is not the dealing's.
pub fn open_revealed(
    plan: &Plan,
    d: &Dealing,
    receiver: &NodeId,
    r: &Scalar,
) -> Result<Scalar, ReshareError> {
    let points = check_dealing(plan, d)?;
    let key = plan.new_key(receiver)?;
    let ctx = seal::Context {
        session: &plan.session,
        dealer: &d.dealer,
    };
    let sealed = sealed_for(d, receiver)?;
    if EdwardsPoint::mul_base(r).compress().to_bytes() != sealed.ephemeral {
        return Err(ReshareError::BadReveal(d.dealer));
    }
    let value = seal::open_revealed(ctx, sealed, key, r)
        .map_err(|_| ReshareError::BadSubShare(d.dealer))?;
    check_value(&points, receiver, &value, &d.dealer)?;
    Ok(value)
}

/// A chosen dealing with its committed points and its Lagrange weight.
type Weighted<'d> = (&'d Dealing, Vec<EdwardsPoint>, Scalar);

/// Dealings with their checked points and Lagrange weights over the dealers given.
fn weighted<'d>(plan: &Plan, dealings: &'d [Dealing]) -> Result<Vec<Weighted<'d>>, ReshareError> {
    if dealings.len() < plan.old_threshold {
        return Err(ReshareError::TooFewDealings {
            got: dealings.len(),
            need: plan.old_threshold,
        });
    }
    let mut seen = BTreeSet::new();
    for d in dealings {
        if !seen.insert(d.dealer) {
            return Err(ReshareError::DuplicateDealer(d.dealer));
        }
    }
    let xs = dealings
        .iter()
        .map(|d| x_of(&identifier(&d.dealer)?))
        .collect::<Result<Vec<_>, _>>()?;
    dealings
        .iter()
        .zip(&xs)
        .map(|(d, x)| {
            let points = check_dealing(plan, d)?;
            Ok((d, points, field::lagrange_at_zero(x, &xs)?))
        })
        .collect()
}

/// The new group's public package from the chosen dealings alone; its group key is checked to
/// be the old one.
pub fn public_package(plan: &Plan, dealings: &[Dealing]) -> Result<PublicKeyPackage, ReshareError> {
    let w = weighted(plan, dealings)?;
    let key = w
        .iter()
        .fold(EdwardsPoint::identity(), |acc, (_, p, l)| acc + p[0] * l);
    let old_key = field::point(
        &plan
            .old
            .verifying_key()
            .serialize()
            .map_err(ThresholdError::from)?,
    )?;
    if key != old_key {
        return Err(ReshareError::KeyChanged);
    }
    let mut shares = BTreeMap::new();
    for holder in plan.new_ids() {
        let id = identifier(&holder)?;
        let x = x_of(&id)?;
        let y = w.iter().fold(EdwardsPoint::identity(), |acc, (_, p, l)| {
            acc + field::eval_commitment(p, &x) * l
        });
        shares.insert(id, field::to_verifying_share(&y)?);
    }
    Ok(PublicKeyPackage::new(
        shares,
        field::to_verifying_key(&key)?,
    ))
}

/// New holder `me`'s key package from the chosen dealings. `revealed` holds values made
/// public by settled complaints (by dealer); the rest are opened with `me`'s key.
pub fn combine(
    plan: &Plan,
    me: &SecretKey,
    dealings: &[Dealing],
    revealed: &BTreeMap<NodeId, Scalar>,
) -> Result<(KeyPackage, PublicKeyPackage), ReshareError> {
    let my_id = NodeId::of(&me.public());
    plan.new_key(&my_id)?;
    let public = public_package(plan, dealings)?;
    let mut share = Scalar::ZERO;
    for (d, points, l) in weighted(plan, dealings)? {
        let value = match revealed.get(&d.dealer) {
            Some(v) => {
                check_value(&points, &my_id, v, &d.dealer)?;
                *v
            }
            None => open(plan, d, me)?,
        };
        share += value * l;
    }
    let id = identifier(&my_id)?;
    let verifying = *public
        .verifying_shares()
        .get(&id)
        .ok_or(ReshareError::NotNewHolder(my_id))?;
    let min = u16::try_from(plan.new_threshold)
        .map_err(|_| ThresholdError::Frost("threshold too big".into()))?;
    let key = KeyPackage::new(
        id,
        field::to_signing_share(&share)?,
        verifying,
        *public.verifying_key(),
        min,
    );
    share.zeroize();
    Ok((key, public))
}
