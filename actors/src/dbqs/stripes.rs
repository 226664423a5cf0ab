//! Lock stripes over keyed objects: a keyed write's read-compare-put holds the lock of its
//! object's stripe, so that two writers never interleave on one object (the reader threads'
//! writes of old, the group-commit writer's batches, transfers).

use std::sync::{Mutex, MutexGuard, PoisonError};

use overlay::id::Hash;

/// Stripes: objects whose ids fall in one are written one at a time.
const STRIPES: usize = 256;

/// The stripes of one store.
pub struct Stripes(Vec<Mutex<()>>);

impl Default for Stripes {
    fn default() -> Stripes {
        Stripes((0..STRIPES).map(|_| Mutex::new(())).collect())
    }
}

impl Stripes {
    fn index(id: &Hash) -> usize {
        id.0[0] as usize % STRIPES
    }

    fn lock(&self, i: usize) -> MutexGuard<'_, ()> {
        // A poisoned stripe only means another thread panicked mid-request; the store is
        // rocksdb's and stays consistent, so go on.
        self.0[i].lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds the stripe of `id`.
    pub fn one(&self, id: &Hash) -> MutexGuard<'_, ()> {
        self.lock(Self::index(id))
    }

    /// Holds the stripes of all of `ids`, taken in stripe order (so that two holders of
    /// several never wait on each other in a cycle).
    pub fn all<'a>(&self, ids: impl Iterator<Item = &'a Hash>) -> Vec<MutexGuard<'_, ()>> {
        let mut idx: Vec<usize> = ids.map(Self::index).collect();
        idx.sort_unstable();
        idx.dedup();
        idx.into_iter().map(|i| self.lock(i)).collect()
    }
}
