//! A client's record of the version numbers it signed and has not seen stored at a quorum,
//! per object. A write that timed out may have left its version at some replicas; if the
//! next write signed another value under the same number, the replica holding the first
//! would prove "equivocation" and the MS would revoke an honest client. So the next write
//! of that object signs a number above every number in the journal, whatever its query saw.
//! The host keeps the journal on disk (written before a signed version is sent) so that this
//! holds across processes too.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::encoding::{DecodeError, decode, encode};
use crate::id::Hash;

/// Most objects with a write not seen complete (each entry is 40 bytes).
pub const JOURNAL_ENTRIES_MAX: usize = 100_000;
/// The largest journal file read.
pub const JOURNAL_BYTES_MAX: usize = JOURNAL_ENTRIES_MAX * 48 + 64;

/// Version numbers signed and not seen complete, per object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    open: BTreeMap<Hash, u64>,
}

/// The journal cannot take another object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{JOURNAL_ENTRIES_MAX} objects have a write this client never saw complete; \
     read or write some of them again to settle them"
)]
pub struct JournalFull;

impl Journal {
    /// The highest number signed of `id` and not seen complete (0: none); the next version
    /// must be above it.
    pub fn floor(&self, id: &Hash) -> u64 {
        self.open.get(id).copied().unwrap_or(0)
    }

    /// Records that version `number` of `id` was signed; call before sending it.
    pub fn signed(&mut self, id: Hash, number: u64) -> Result<(), JournalFull> {
        if !self.open.contains_key(&id) && self.open.len() >= JOURNAL_ENTRIES_MAX {
            return Err(JournalFull);
        }
        let e = self.open.entry(id).or_insert(0);
        *e = (*e).max(number);
        Ok(())
    }

    /// Records that a quorum holds version `number` of `id` (or higher): every query from
    /// now on sees at least that, so numbers up to it need no entry. Returns whether the
    /// journal changed.
    pub fn settled(&mut self, id: &Hash, number: u64) -> bool {
        match self.open.get(id) {
            Some(n) if *n <= number => self.open.remove(id).is_some(),
            _ => false,
        }
    }

    /// Takes in another journal's entries (another process of this client's, read from disk):
    /// the higher number of each object wins.
    pub fn merge(&mut self, other: &Journal) {
        for (id, n) in &other.open {
            let e = self.open.entry(*id).or_insert(0);
            *e = (*e).max(*n);
        }
    }

    /// Objects with an entry.
    pub fn len(&self) -> usize {
        self.open.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// The stored form.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }

    /// Reads the stored form, bounded.
    pub fn from_bytes(bytes: &[u8]) -> Result<Journal, DecodeError> {
        let j: Journal = decode(bytes, JOURNAL_BYTES_MAX)?;
        if j.open.len() > JOURNAL_ENTRIES_MAX {
            return Err(DecodeError::Malformed(format!(
                "{} entries, at most {JOURNAL_ENTRIES_MAX}",
                j.open.len()
            )));
        }
        Ok(j)
    }
}
