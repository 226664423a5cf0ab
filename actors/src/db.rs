//! The node's rocksdb database: one column family per kind of state, writes in batches, and
//! WAL fsync on every write unless the operator turns it off.

use std::path::Path;
use std::sync::Arc;

use rocksdb::{ColumnFamilyDescriptor, DB, Options, WriteBatch, WriteOptions};

/// Column family of PBFT records.
pub const CF_PBFT: &str = "pbft";
/// Column family of dBQS keyed objects' versions, by object id.
pub const CF_VERSIONS: &str = "dbqs_versions";
/// Column family of dBQS content objects, by content id.
pub const CF_CONTENT: &str = "dbqs_content";
/// Column family of what is held of each dBQS object (its version key, or "content"), by
/// id, written in the same batch as the object: a transfer listing reads this, not values.
pub const CF_INDEX: &str = "dbqs_index";
/// Every column family the node uses.
pub const COLUMN_FAMILIES: &[&str] = &[CF_PBFT, CF_VERSIONS, CF_CONTENT, CF_INDEX];

/// A database error, with what was being done.
#[derive(Debug, thiserror::Error)]
#[error("database {what}: {source}")]
pub struct DbError {
    /// What was being done.
    pub what: String,
    /// The rocksdb error.
    #[source]
    pub source: rocksdb::Error,
}

/// The shared database handle.
#[derive(Clone)]
pub struct Db {
    inner: Arc<DB>,
    sync: bool,
}

impl Db {
    /// Opens (or creates) the database in `dir`. `sync` fsyncs the WAL on every write.
    pub fn open(dir: &Path, sync: bool) -> Result<Db, DbError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let cfs = COLUMN_FAMILIES
            .iter()
            .map(|n| ColumnFamilyDescriptor::new(*n, Options::default()));
        let inner = DB::open_cf_descriptors(&opts, dir, cfs).map_err(|source| DbError {
            what: format!("open {}", dir.display()),
            source,
        })?;
        Ok(Db {
            inner: Arc::new(inner),
            sync,
        })
    }

    /// Opens `dir` to read only, beside a node that may have it open for writing: what is
    /// read is the state at the moment of opening (its WAL replayed), and nothing is written.
    /// For inspecting a live replica's own store (the tests' per-replica audits).
    pub fn open_read_only(dir: &Path) -> Result<Db, DbError> {
        let cfs = COLUMN_FAMILIES
            .iter()
            .map(|n| ColumnFamilyDescriptor::new(*n, Options::default()));
        let inner = DB::open_cf_descriptors_read_only(&Options::default(), dir, cfs, false)
            .map_err(|source| DbError {
                what: format!("open {} to read", dir.display()),
                source,
            })?;
        Ok(Db {
            inner: Arc::new(inner),
            sync: false,
        })
    }

    /// Whether writes fsync the WAL.
    pub fn durable(&self) -> bool {
        self.sync
    }

    /// The raw handle.
    pub fn raw(&self) -> &DB {
        &self.inner
    }

    /// Writes a batch, fsynced when the database is durable.
    pub fn write(&self, batch: WriteBatch) -> Result<(), DbError> {
        let mut wo = WriteOptions::default();
        wo.set_sync(self.sync);
        self.inner.write_opt(batch, &wo).map_err(|source| DbError {
            what: "write".into(),
            source,
        })
    }

    /// A column family handle; every family in `COLUMN_FAMILIES` exists once opened.
    pub fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        match self.inner.cf_handle(name) {
            Some(cf) => cf,
            None => unreachable!("column family {name} is created at open"),
        }
    }
}
