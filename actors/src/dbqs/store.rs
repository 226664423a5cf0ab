//! A dBQS replica's objects in rocksdb: keyed objects' versions and content objects, each in
//! its own column family, every write one batch (WAL fsynced unless the operator turned it
//! off). What is read back is decoded with its bound; a record that does not decode is
//! reported as corrupt storage, never served.

use overlay::constants::CERT_BYTES_MAX;
use overlay::dbqs::object::{VALUE_BYTES_MAX, Version};
use overlay::dbqs::replica::{CONTENT_BYTES_MAX, Store};
use overlay::encoding::{decode, encode};
use overlay::id::Hash;
use rocksdb::WriteBatch;

use crate::db::{CF_CONTENT, CF_VERSIONS, Db};

/// Room for a version's stamp, signature and owner credential besides its value.
const VERSION_OVERHEAD_BYTES: usize = CERT_BYTES_MAX + 4096;

/// The replica's objects.
pub struct RocksStore {
    db: Db,
}

impl RocksStore {
    /// The objects in `db`.
    pub fn new(db: Db) -> RocksStore {
        RocksStore { db }
    }

    /// Keyed objects and content objects held (estimates from rocksdb's statistics).
    pub fn counts(&self) -> (u64, u64) {
        let estimate = |cf: &str| {
            self.db
                .raw()
                .property_int_value_cf(self.db.cf(cf), "rocksdb.estimate-num-keys")
                .ok()
                .flatten()
                .unwrap_or(0)
        };
        (estimate(CF_VERSIONS), estimate(CF_CONTENT))
    }
}

impl Store for RocksStore {
    fn version(&self, id: &Hash) -> Result<Option<Version>, String> {
        let raw = self
            .db
            .raw()
            .get_pinned_cf(self.db.cf(CF_VERSIONS), id.0)
            .map_err(|e| format!("read version: {e}"))?;
        raw.map(|b| {
            decode(&b, VALUE_BYTES_MAX + VERSION_OVERHEAD_BYTES)
                .map_err(|e| format!("corrupt version of {}: {e}", id.short()))
        })
        .transpose()
    }

    fn put_version(&mut self, v: Version) -> Result<(), String> {
        let mut batch = WriteBatch::default();
        batch.put_cf(self.db.cf(CF_VERSIONS), v.id().0, encode(&v));
        self.db.write(batch).map_err(|e| e.to_string())
    }

    fn content(&self, id: &Hash) -> Result<Option<Vec<u8>>, String> {
        let raw = self
            .db
            .raw()
            .get_cf(self.db.cf(CF_CONTENT), id.0)
            .map_err(|e| format!("read content: {e}"))?;
        match raw {
            Some(b) if b.len() > CONTENT_BYTES_MAX => {
                Err(format!("corrupt content object {}: too large", id.short()))
            }
            other => Ok(other),
        }
    }

    fn put_content(&mut self, id: Hash, bytes: Vec<u8>) -> Result<(), String> {
        let mut batch = WriteBatch::default();
        batch.put_cf(self.db.cf(CF_CONTENT), id.0, bytes);
        self.db.write(batch).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use overlay::crypto::SecretKey;
    use overlay::dbqs::replica::{Reply, Request, handle};

    #[test]
    fn versions_and_content_survive_a_reopen_and_never_go_back() {
        let dir = tempfile::tempdir().unwrap();
        let owner = SecretKey::from_seed(&[3; 32]);
        let v2 = Version::sign(&owner, b"k", 2, Some(b"two".to_vec()));
        let v1 = Version::sign(&owner, b"k", 1, Some(b"one".to_vec()));
        {
            let mut s = RocksStore::new(Db::open(dir.path(), true).unwrap());
            for v in [v2.clone(), v1] {
                handle(
                    &mut s,
                    Request::Write {
                        version: Box::new(v),
                    },
                );
            }
            let r = handle(
                &mut s,
                Request::PutContent {
                    bytes: b"c".to_vec(),
                },
            );
            assert!(matches!(r, Reply::ContentStored { .. }), "{r:?}");
        }
        let mut s = RocksStore::new(Db::open(dir.path(), true).unwrap());
        let r = handle(&mut s, Request::Read { id: v2.id() });
        assert_eq!(r, Reply::Version(Some(Box::new(v2))));
        let id = overlay::dbqs::object::content_id(b"c");
        assert_eq!(
            handle(&mut s, Request::GetContent { id }),
            Reply::Content(Some(b"c".to_vec()))
        );
    }
}
