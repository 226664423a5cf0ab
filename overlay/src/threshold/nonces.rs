//! A holder's open commitments: the nonces of round 1, kept until round 2 uses them, with a
//! share per coordinator. Coordinators the host counts as its own (MS replicas, which sign
//! epoch certificates) are bounded only by their share, so a flood of freshness rounds from
//! anyone else can never push out the nonce of an epoch signing between its two rounds.

use std::collections::BTreeMap;

use frost_ed25519 as frost;

use crate::guard::Class;
use crate::id::Hash;

/// Open commitments one coordinator may hold at a holder; past it, its oldest is forgotten.
pub const NONCES_PER_COORDINATOR: usize = 4;
/// Open commitments all outside coordinators together may hold; past it, new ones are
/// refused until some are used or expire.
pub const NONCES_OUTSIDE_MAX: usize = 32;
/// How long an unused commitment is kept (longer than any session's deadline).
pub const NONCE_TTL_MS: u64 = 30_000;

/// Who asks for a commitment, as the host authenticated it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asker {
    /// The coordinator (a hash of its peer id or node id).
    pub coordinator: Hash,
    /// Whether it is one of the node's own (an MS replica) or anyone else.
    pub class: Class,
    /// The host's monotonic clock, in milliseconds.
    pub now_ms: u64,
}

impl Asker {
    /// An MS replica `coordinator` asking at `now_ms`.
    pub fn own(coordinator: Hash, now_ms: u64) -> Asker {
        Asker {
            coordinator,
            class: Class::Own,
            now_ms,
        }
    }
}

struct Open {
    nonces: frost::round1::SigningNonces,
    asker: Asker,
}

/// The open commitments.
#[derive(Default)]
pub struct NonceBook {
    open: BTreeMap<(Hash, u32), Open>,
    refused: u64,
}

impl NonceBook {
    /// Keeps `nonces` for `(session, attempt)` on behalf of `asker`, or refuses (and counts it)
    /// when outside coordinators hold all their room.
    pub fn keep(
        &mut self,
        key: (Hash, u32),
        nonces: frost::round1::SigningNonces,
        asker: Asker,
    ) -> Result<(), NoRoom> {
        self.open
            .retain(|_, o| o.asker.now_ms.saturating_add(NONCE_TTL_MS) > asker.now_ms);
        self.open.remove(&key);
        let mine: Vec<(Hash, u32)> = self
            .open
            .iter()
            .filter(|(_, o)| o.asker.coordinator == asker.coordinator)
            .map(|(k, _)| *k)
            .collect();
        if mine.len() >= NONCES_PER_COORDINATOR {
            let oldest = mine
                .iter()
                .min_by_key(|k| self.open.get(k).map(|o| o.asker.now_ms));
            if let Some(k) = oldest.copied() {
                self.open.remove(&k);
            }
        }
        let outside = self
            .open
            .values()
            .filter(|o| o.asker.class == Class::Outside)
            .count();
        if asker.class == Class::Outside && outside >= NONCES_OUTSIDE_MAX {
            self.refused += 1;
            return Err(NoRoom);
        }
        self.open.insert(key, Open { nonces, asker });
        Ok(())
    }

    /// Takes the nonces of `(session, attempt)`, which are used once.
    pub fn take(&mut self, key: &(Hash, u32)) -> Option<frost::round1::SigningNonces> {
        self.open.remove(key).map(|o| o.nonces)
    }

    /// Commitments open now.
    pub fn len(&self) -> usize {
        self.open.len()
    }

    /// Whether none is open.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// Commitments refused so far.
    pub fn refused(&self) -> u64 {
        self.refused
    }
}

/// Outside coordinators hold all the room there is for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this holder has {NONCES_OUTSIDE_MAX} open commitments for other coordinators; try again")]
pub struct NoRoom;
