//! The dBQS replica on a node: the protocol's rules (`overlay::dbqs::replica`) over rocksdb,
//! hosted by a few synchronous actor threads. Access checks happen before, in the network task.

mod actor;
mod store;

pub use actor::{Absorb, DeleteRange, List, STORE_THREADS, Serve, Served, StoreActor};
pub use store::RocksStore;
