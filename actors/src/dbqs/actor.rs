//! The replica actor: one thread that owns the store, so a write's read-compare-write is never
//! interleaved with another's (rocksdb calls block, so it runs on its own arbiter).

use actix::{Actor, Handler, Message, MessageResult, SyncContext};
use overlay::dbqs::replica::{Reply, Request, handle};

use super::store::RocksStore;

/// Serve one request that already passed the access checks.
pub struct Serve(pub Request);

impl Message for Serve {
    type Result = Reply;
}

/// Counts of what the replica holds.
pub struct Counts;

impl Message for Counts {
    type Result = (u64, u64);
}

/// Hosts a dBQS replica over rocksdb.
pub struct StoreActor {
    store: RocksStore,
}

impl StoreActor {
    /// An actor over `store`.
    pub fn new(store: RocksStore) -> StoreActor {
        StoreActor { store }
    }
}

impl Actor for StoreActor {
    type Context = SyncContext<Self>;
}

impl Handler<Serve> for StoreActor {
    type Result = MessageResult<Serve>;

    fn handle(&mut self, msg: Serve, _: &mut SyncContext<Self>) -> Self::Result {
        MessageResult(handle(&mut self.store, msg.0))
    }
}

impl Handler<Counts> for StoreActor {
    type Result = MessageResult<Counts>;

    fn handle(&mut self, _: Counts, _: &mut SyncContext<Self>) -> Self::Result {
        MessageResult(self.store.counts())
    }
}
