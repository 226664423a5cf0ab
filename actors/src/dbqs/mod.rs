//! The dBQS replica on a node: the protocol's rules (`overlay::dbqs::replica`) over rocksdb,
//! hosted by a few synchronous actor threads for reads and one group-commit writer for writes. Access checks happen before, in the network task.

mod actor;
mod reindex;
mod staged;
mod store;
mod stripes;
mod writer;

pub use actor::{DeleteRange, List, STORE_THREADS, Serve, Served, StoreActor};
pub use store::RocksStore;
pub use stripes::Stripes;
pub use writer::{GROUP_BYTES_MAX, GROUP_MAX, Writer};
