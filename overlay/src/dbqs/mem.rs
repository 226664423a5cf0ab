//! A replica store in memory, for simulations and tests (nodes keep theirs in rocksdb).

use std::collections::BTreeMap;

use super::object::Version;
use super::provenance::Content;
use super::replica::Store;
use crate::id::Hash;

/// Versions and content objects in maps.
#[derive(Debug, Default, Clone)]
pub struct MemStore {
    /// The version held of each keyed object.
    pub versions: BTreeMap<Hash, Version>,
    /// Content objects by id.
    pub content: BTreeMap<Hash, Content>,
}

impl Store for MemStore {
    fn version(&self, id: &Hash) -> Result<Option<Version>, String> {
        Ok(self.versions.get(id).cloned())
    }
    fn put_version(&mut self, v: Version) -> Result<(), String> {
        self.versions.insert(v.id(), v);
        Ok(())
    }
    fn content(&self, id: &Hash) -> Result<Option<Content>, String> {
        Ok(self.content.get(id).cloned())
    }
    fn has_content(&self, id: &Hash) -> Result<bool, String> {
        Ok(self.content.contains_key(id))
    }
    fn put_content(&mut self, id: Hash, content: Content) -> Result<(), String> {
        self.content.insert(id, content);
        Ok(())
    }
}
