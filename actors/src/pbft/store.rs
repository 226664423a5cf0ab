//! A PBFT replica's persisted records in rocksdb: appended in order under the instance id,
//! with everything before a stable checkpoint deleted in the same batch that writes it.

use overlay::encoding::{decode, encode};
use overlay::id::Hash;
use overlay::pbft::{MESSAGE_BYTES_MAX, Record};
use rocksdb::{Direction, IteratorMode, WriteBatch};

use crate::db::{CF_PBFT, Db, DbError};

/// The records of one PBFT instance.
pub struct PbftStore {
    db: Db,
    instance: Hash,
    next: u64,
}

/// A stored record did not decode: the store is corrupt.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// rocksdb failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A record did not decode.
    #[error("corrupt PBFT record {index}: {reason}")]
    Corrupt {
        /// The record's index.
        index: u64,
        /// Why.
        reason: String,
    },
}

fn key(instance: &Hash, index: u64) -> Vec<u8> {
    let mut k = instance.0.to_vec();
    k.extend_from_slice(&index.to_be_bytes());
    k
}

impl PbftStore {
    /// Opens the records of `instance` and returns them, oldest first.
    pub fn open(db: Db, instance: Hash) -> Result<(PbftStore, Vec<Record>), StoreError> {
        let cf = db.cf(CF_PBFT);
        let start = key(&instance, 0);
        let mut records = Vec::new();
        let mut next = 0;
        for item in db
            .raw()
            .iterator_cf(cf, IteratorMode::From(&start, Direction::Forward))
        {
            let (k, v) = item.map_err(|source| DbError {
                what: "read pbft records".into(),
                source,
            })?;
            if !k.starts_with(&instance.0) || k.len() != 40 {
                break;
            }
            let index = u64::from_be_bytes(k[32..].try_into().unwrap_or([0; 8]));
            let rec: Record = decode(&v, MESSAGE_BYTES_MAX).map_err(|e| StoreError::Corrupt {
                index,
                reason: e.to_string(),
            })?;
            records.push(rec);
            next = index + 1;
        }
        Ok((PbftStore { db, instance, next }, records))
    }

    /// Appends `records` in one batch (fsynced if the database is durable). A stable
    /// checkpoint deletes the records before it.
    pub fn append(&mut self, records: &[Record]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let cf = self.db.cf(CF_PBFT);
        let mut batch = WriteBatch::default();
        for rec in records {
            if matches!(rec, Record::Stable { .. }) {
                batch.delete_range_cf(cf, key(&self.instance, 0), key(&self.instance, self.next));
            }
            batch.put_cf(cf, key(&self.instance, self.next), encode(rec));
            self.next += 1;
        }
        self.db.write(batch)?;
        Ok(())
    }
}
