//! Rebuilding the object index (`dbqs_index`) of a data directory written before it existed.
//! A transfer listing reads only the index; a replica whose objects have no index entries
//! would list nothing, and new replicas would settle without its copies. So at start a store
//! with objects and an empty index is indexed first, from the objects themselves.

use overlay::dbqs::replica::Store;
use overlay::encoding::encode;
use overlay::id::Hash;
use overlay::transfer::page::Held;
use rocksdb::{IteratorMode, WriteBatch};

use super::store::RocksStore;
use crate::db::{CF_CONTENT, CF_INDEX, CF_VERSIONS};

/// Index entries written per batch.
const BATCH: usize = 4096;

impl RocksStore {
    /// Indexes every object if the index is empty and objects exist; returns how many were
    /// indexed (0 when nothing had to be done). A version that does not decode stops it with
    /// an error naming the object: the directory is then not one this build can serve.
    pub fn rebuild_index_if_missing(&self) -> Result<u64, String> {
        let db = self.db();
        let empty = |cf: &str| {
            db.raw()
                .iterator_cf(db.cf(cf), IteratorMode::Start)
                .next()
                .is_none()
        };
        if !empty(CF_INDEX) || self.is_empty() {
            return Ok(0);
        }
        let mut indexed = 0;
        for cf in [CF_VERSIONS, CF_CONTENT] {
            let mut batch = WriteBatch::default();
            for item in db.raw().iterator_cf(db.cf(cf), IteratorMode::Start) {
                let (k, _) = item.map_err(|e| format!("reindex: {e}"))?;
                let Ok(id) = <[u8; 32]>::try_from(&k[..]) else {
                    return Err(format!(
                        "reindex: a key of {cf} is {} bytes, not 32",
                        k.len()
                    ));
                };
                let held = if cf == CF_VERSIONS {
                    let v = self
                        .version(&Hash(id))?
                        .ok_or("reindex: a version vanished")?;
                    Held::Keyed(v.key())
                } else {
                    Held::Content
                };
                batch.put_cf(db.cf(CF_INDEX), id, encode(&held));
                indexed += 1;
                if batch.len() == BATCH {
                    self.commit(std::mem::take(&mut batch))?;
                }
            }
            self.commit(batch)?;
        }
        Ok(indexed)
    }
}

#[cfg(test)]
mod tests {
    use overlay::crypto::SecretKey;
    use overlay::dbqs::object::Version;
    use overlay::ring::Range;
    use overlay::transfer::page::ListRequest;

    use super::*;
    use crate::db::Db;

    #[test]
    fn a_store_without_index_entries_is_indexed_and_lists_its_objects_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = RocksStore::new(Db::open(dir.path(), false).unwrap());
        let owner = SecretKey::from_seed(&[4; 32]);
        let mut batch = WriteBatch::default();
        for i in 0..10u8 {
            let v = Version::sign(&owner, &[i], 1 + u64::from(i), Some(vec![i]));
            store.stage_version(&mut batch, &v);
        }
        store.commit(batch).unwrap();
        let list = ListRequest {
            range: Range::full(),
            after: None,
            limit: 256,
        };
        assert_eq!(store.page(&list).unwrap().entries.len(), 10);
        assert_eq!(
            store.rebuild_index_if_missing().unwrap(),
            0,
            "indexed already"
        );

        // As a directory from before the index: the objects, no entries.
        let db = store.db();
        let ids: Vec<_> = db
            .raw()
            .iterator_cf(db.cf(CF_INDEX), IteratorMode::Start)
            .map(|i| i.unwrap().0)
            .collect();
        let mut batch = WriteBatch::default();
        for id in ids {
            batch.delete_cf(db.cf(CF_INDEX), id);
        }
        store.commit(batch).unwrap();
        assert!(store.page(&list).unwrap().entries.is_empty());

        assert_eq!(store.rebuild_index_if_missing().unwrap(), 10);
        let listed = store.page(&list).unwrap().entries;
        assert_eq!(listed.len(), 10);
        for l in &listed {
            let v = store.version(&l.id).unwrap().unwrap();
            assert_eq!(l.held, Held::Keyed(v.key()));
        }
    }
}
