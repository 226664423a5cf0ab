//! Many requests, one write: the replica's rules (`overlay::dbqs::replica`) run on each
//! request in turn against what the store holds plus what this batch already took, and the
//! batch reaches rocksdb as one write with one fsync (group commit). A later request of the
//! batch sees an earlier one's version, so two writes of one object compare as they would one
//! after the other.

use std::collections::HashMap;

use overlay::dbqs::object::Version;
use overlay::dbqs::provenance::Content;
use overlay::dbqs::replica::Store;
use overlay::id::Hash;
use rocksdb::WriteBatch;

use super::store::RocksStore;

/// The store as a batch in progress sees it.
pub struct Staged<'a> {
    store: &'a RocksStore,
    batch: WriteBatch,
    versions: HashMap<Hash, Version>,
    content: HashMap<Hash, Content>,
}

impl<'a> Staged<'a> {
    /// An empty batch over `store`.
    pub fn new(store: &'a RocksStore) -> Staged<'a> {
        Staged {
            store,
            batch: WriteBatch::default(),
            versions: HashMap::new(),
            content: HashMap::new(),
        }
    }

    /// Writes what the batch took, as one write; nothing is visible before this returns.
    pub fn commit(self) -> Result<(), String> {
        if self.batch.is_empty() {
            return Ok(());
        }
        self.store.commit(self.batch)
    }
}

impl Store for Staged<'_> {
    fn version(&self, id: &Hash) -> Result<Option<Version>, String> {
        match self.versions.get(id) {
            Some(v) => Ok(Some(v.clone())),
            None => self.store.version(id),
        }
    }

    fn put_version(&mut self, v: Version) -> Result<(), String> {
        self.store.stage_version(&mut self.batch, &v);
        self.versions.insert(v.id(), v);
        Ok(())
    }

    fn content(&self, id: &Hash) -> Result<Option<Content>, String> {
        match self.content.get(id) {
            Some(c) => Ok(Some(c.clone())),
            None => self.store.content(id),
        }
    }

    fn has_content(&self, id: &Hash) -> Result<bool, String> {
        Ok(self.content.contains_key(id) || self.store.has_content(id)?)
    }

    fn put_content(&mut self, id: Hash, content: Content) -> Result<(), String> {
        self.store.stage_content(&mut self.batch, &id, &content);
        self.content.insert(id, content);
        Ok(())
    }
}
