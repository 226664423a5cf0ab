//! What a correct MS node submits during a handover, computed from the ordered handover state
//! alone, so the node runtime, the simulator and the benchmarks run the same code.

use std::collections::{BTreeMap, BTreeSet};

use rand_core::CryptoRngCore;

use super::handover::Handover;
use super::op::{MsError, Op};
use crate::crypto::SecretKey;
use crate::id::NodeId;
use crate::threshold::KeyPackage;
use crate::threshold::field;
use crate::threshold::reshare::{self, Ephemerals};

fn err(e: impl ToString) -> MsError {
    MsError::Reshare(e.to_string())
}

/// An old holder's dealing. The ephemerals are kept until the handover completes, to answer
/// complaints.
pub fn deal<R: CryptoRngCore>(
    h: &Handover,
    me: NodeId,
    key: &KeyPackage,
    rng: &mut R,
) -> Result<(Op, Ephemerals), MsError> {
    let (d, eph) = reshare::deal(&h.plan()?, me, key, rng).map_err(err)?;
    Ok((Op::Deal(d), eph))
}

/// A dealer's answers to the open complaints against it.
pub fn reveals(h: &Handover, me: &NodeId, eph: &Ephemerals) -> Vec<Op> {
    h.complaints
        .iter()
        .filter(|((d, _), v)| d == me && v.is_none())
        .filter_map(|((_, receiver), _)| {
            Some(Op::Reveal {
                receiver: *receiver,
                secret: eph.get(receiver)?.to_bytes(),
            })
        })
        .collect()
}

/// A new holder's checks of the dealings ordered since it last reported (`reported` of them
/// checked already): a complaint for each value it cannot open (not yet complained about),
/// then how many it has checked. Empty when there is nothing new, so that a driver ticking
/// often opens each dealing once.
pub fn check(h: &Handover, me: &SecretKey, reported: u32) -> Result<Vec<Op>, MsError> {
    let checked = u32::try_from(h.dealings.len()).unwrap_or(u32::MAX);
    if h.chosen.is_some() || checked <= reported {
        return Ok(Vec::new());
    }
    let plan = h.plan()?;
    let id = NodeId::of(&me.public());
    let mut ops = Vec::new();
    for d in h.dealings.iter().skip(reported as usize) {
        if h.complaints.contains_key(&(d.dealer, id)) {
            continue;
        }
        if reshare::open(&plan, d, me).is_err() {
            ops.push(Op::Complain { dealer: d.dealer });
        }
    }
    ops.push(Op::Ready { checked });
    Ok(ops)
}

/// A new holder's key package, once the dealers are fixed. `None` while they are not.
pub fn new_share(h: &Handover, me: &SecretKey) -> Result<Option<KeyPackage>, MsError> {
    let Some(dealings) = h.chosen_dealings() else {
        return Ok(None);
    };
    let id = NodeId::of(&me.public());
    let revealed: BTreeMap<NodeId, _> = h
        .revealed_to(&id)
        .into_iter()
        .map(|(d, v)| Ok((d, field::scalar(&v).map_err(err)?)))
        .collect::<Result<_, MsError>>()?;
    let (key, _) = reshare::combine(&h.plan()?, me, &dealings, &revealed).map_err(err)?;
    Ok(Some(key))
}

/// The old holders that have not dealt yet.
pub fn missing_dealers(h: &Handover) -> BTreeSet<NodeId> {
    h.old_holders
        .iter()
        .filter(|o| h.dealings.iter().all(|d| d.dealer != **o))
        .copied()
        .collect()
}
