//! Room in a bounded table, shared out per party.

use std::collections::BTreeMap;

/// Whose work an entry is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// The node's own work, or its peers' in the protocol (MS replicas ordering, the primary
    /// signing an epoch): may use the room kept back.
    Own,
    /// Anyone else.
    Outside,
}

/// The bounds of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareLimits {
    /// Entries in all.
    pub total: usize,
    /// Entries one party may hold.
    pub per_party: usize,
    /// Entries only [`Class::Own`] work may take.
    pub reserved: usize,
}

/// Why an entry was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The party holds its whole share.
    #[error("this peer holds its share ({0} entries); try again when some are answered")]
    PartyFull(usize),
    /// The table is full for this class.
    #[error("the node is at its bound of {0} entries; try again")]
    TableFull(usize),
}

/// Counts of entries held per party, within [`ShareLimits`].
#[derive(Debug, Clone)]
pub struct Shares<K: Ord> {
    held: BTreeMap<K, (usize, Class)>,
    used: usize,
    outside: usize,
    limits: ShareLimits,
    refused: u64,
}

impl<K: Ord + Clone> Shares<K> {
    /// An empty table. `reserved` is capped at `total`.
    pub fn new(limits: ShareLimits) -> Shares<K> {
        let reserved = limits.reserved.min(limits.total);
        Shares {
            held: BTreeMap::new(),
            used: 0,
            outside: 0,
            limits: ShareLimits { reserved, ..limits },
            refused: 0,
        }
    }

    /// Takes one entry for `party`, or says why not (and counts the refusal). A party's
    /// class is the one of its first entry while it holds any.
    pub fn take(&mut self, party: &K, class: Class) -> Result<(), Refusal> {
        let (held, class) = self.held.get(party).copied().unwrap_or((0, class));
        let outside_room = self.limits.total - self.limits.reserved;
        let refusal = if held >= self.limits.per_party {
            Some(Refusal::PartyFull(self.limits.per_party))
        } else if self.used >= self.limits.total {
            Some(Refusal::TableFull(self.limits.total))
        } else if class == Class::Outside && self.outside >= outside_room {
            Some(Refusal::TableFull(outside_room))
        } else {
            None
        };
        if let Some(r) = refusal {
            self.refused += 1;
            return Err(r);
        }
        self.held.insert(party.clone(), (held + 1, class));
        self.used += 1;
        if class == Class::Outside {
            self.outside += 1;
        }
        Ok(())
    }

    /// Gives back one entry of `party` (nothing if it holds none).
    pub fn give_back(&mut self, party: &K) {
        let Some((n, class)) = self.held.get_mut(party) else {
            return;
        };
        *n -= 1;
        self.used -= 1;
        if *class == Class::Outside {
            self.outside -= 1;
        }
        if *n == 0 {
            self.held.remove(party);
        }
    }

    /// Entries `party` holds.
    pub fn held_by(&self, party: &K) -> usize {
        self.held.get(party).map_or(0, |h| h.0)
    }

    /// Entries held in all.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Refusals so far.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// The bounds.
    pub fn limits(&self) -> ShareLimits {
        self.limits
    }
}
