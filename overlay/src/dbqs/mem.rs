//! A replica store in memory, for simulations and tests (nodes keep theirs in rocksdb).

use std::collections::BTreeMap;

use super::object::Version;
use super::replica::Store;
use crate::id::Hash;

/// Versions and content objects in maps.
#[derive(Debug, Default, Clone)]
pub struct MemStore {
    /// The version held of each keyed object.
    pub versions: BTreeMap<Hash, Version>,
    /// Content objects by id.
    pub content: BTreeMap<Hash, Vec<u8>>,
}

impl Store for MemStore {
    fn version(&self, id: &Hash) -> Result<Option<Version>, String> {
        Ok(self.versions.get(id).cloned())
    }
    fn put_version(&mut self, v: Version) -> Result<(), String> {
        self.versions.insert(v.id(), v);
        Ok(())
    }
    fn content(&self, id: &Hash) -> Result<Option<Vec<u8>>, String> {
        Ok(self.content.get(id).cloned())
    }
    fn put_content(&mut self, id: Hash, bytes: Vec<u8>) -> Result<(), String> {
        self.content.insert(id, bytes);
        Ok(())
    }
}
