//! The replica actor: a few threads (rocksdb calls block) sharing one store, for reads,
//! listings and deletions. Writes go to the group-commit writer (`writer.rs`); a write sent
//! here still works, holding its object's stripe (shared with the writer) for its
//! read-compare-put.

use std::sync::Arc;

use actix::{Actor, Addr, Handler, Message, MessageResult, SyncArbiter, SyncContext};
use overlay::dbqs::replica::{Reply, Request, handle_noting};
use overlay::ms::Evidence;
use overlay::ring::Range;
use overlay::transfer::page::{ListPage, ListRequest};

use super::store::RocksStore;
use super::stripes::Stripes;
use crate::db::Db;

/// Threads serving requests.
pub const STORE_THREADS: usize = 4;

/// Serve one request that already passed the access checks.
pub struct Serve(pub Request);

/// The reply, and the proof of an owner's equivocation if the request showed one.
pub type Served = (Reply, Option<Evidence>);

impl Message for Serve {
    type Result = Served;
}

/// A page of a range's listing, for another replica's transfer.
pub struct List(pub ListRequest);

impl Message for List {
    type Result = Result<ListPage, String>;
}

/// Delete every object in a range no longer owned; answers how many went.
pub struct DeleteRange(pub Range);

impl Message for DeleteRange {
    type Result = Result<u64, String>;
}

/// Hosts a dBQS replica over rocksdb.
pub struct StoreActor {
    store: RocksStore,
    stripes: Arc<Stripes>,
}

impl StoreActor {
    /// Starts the replica's threads over `db`, sharing `stripes` with its writer.
    pub fn start(db: Db, stripes: Arc<Stripes>) -> Addr<StoreActor> {
        SyncArbiter::start(STORE_THREADS, move || StoreActor {
            store: RocksStore::new(db.clone()),
            stripes: stripes.clone(),
        })
    }
}

impl Actor for StoreActor {
    type Context = SyncContext<Self>;
}

impl Handler<Serve> for StoreActor {
    type Result = MessageResult<Serve>;

    fn handle(&mut self, msg: Serve, _: &mut SyncContext<Self>) -> Self::Result {
        MessageResult(self.serve(msg.0))
    }
}

impl StoreActor {
    fn serve(&mut self, req: Request) -> Served {
        // Only a keyed write compares with what is held; content puts are idempotent and
        // reads change nothing, so they take no lock (and no hash of a content object).
        let _guard = match &req {
            Request::Write { version } => Some(self.stripes.one(&version.id())),
            _ => None,
        };
        handle_noting(&mut self.store, req)
    }
}

impl Handler<List> for StoreActor {
    type Result = Result<ListPage, String>;

    fn handle(&mut self, msg: List, _: &mut SyncContext<Self>) -> Self::Result {
        self.store.page(&msg.0)
    }
}

impl Handler<DeleteRange> for StoreActor {
    type Result = Result<u64, String>;

    fn handle(&mut self, msg: DeleteRange, _: &mut SyncContext<Self>) -> Self::Result {
        self.store.delete_range(&msg.0)
    }
}
