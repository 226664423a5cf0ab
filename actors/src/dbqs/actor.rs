//! The replica actor: a few threads (rocksdb calls block) sharing one store. A keyed write's
//! read-compare-put holds the lock of its object's stripe, so two writes to one object never
//! interleave, while writes to different objects run side by side and rocksdb groups their WAL
//! fsyncs into one.

use std::sync::{Arc, Mutex};

use actix::{Actor, Addr, Handler, Message, MessageResult, SyncArbiter, SyncContext};
use overlay::dbqs::replica::{Reply, Request, handle_noting};
use overlay::ms::Evidence;
use overlay::ring::Range;
use overlay::transfer::mover::Item;
use overlay::transfer::page::{ListPage, ListRequest};

use super::store::RocksStore;
use crate::db::Db;

/// Threads serving requests.
pub const STORE_THREADS: usize = 4;
/// Lock stripes: objects whose ids fall in one stripe are written one at a time.
const STRIPES: usize = 256;

/// Serve one request that already passed the access checks.
pub struct Serve(pub Request);

/// The reply, and the proof of an owner's equivocation if the request showed one.
pub type Served = (Reply, Option<Evidence>);

impl Message for Serve {
    type Result = Served;
}

/// Store objects a transfer brought, in order (each keyed version only if above what is held).
pub struct Absorb(pub Vec<Item>);

impl Message for Absorb {
    type Result = Result<(), String>;
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
    stripes: Arc<Vec<Mutex<()>>>,
}

impl StoreActor {
    /// Starts the replica's threads over `db`.
    pub fn start(db: Db) -> Addr<StoreActor> {
        let stripes: Arc<Vec<Mutex<()>>> = Arc::new((0..STRIPES).map(|_| Mutex::new(())).collect());
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
            Request::Write { version } => {
                let stripe = version.id().0[0] as usize % STRIPES;
                // A poisoned stripe only means another thread panicked mid-request; the
                // store is rocksdb's and stays consistent, so go on.
                Some(
                    self.stripes[stripe]
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner),
                )
            }
            _ => None,
        };
        handle_noting(&mut self.store, req)
    }
}

impl Handler<Absorb> for StoreActor {
    type Result = Result<(), String>;

    fn handle(&mut self, msg: Absorb, _: &mut SyncContext<Self>) -> Self::Result {
        for item in msg.0 {
            let req = match item {
                Item::Version(version) => Request::Write { version },
                Item::Content(c) => Request::PutContent {
                    bytes: c.bytes,
                    proof: Box::new(c.proof),
                },
            };
            if let (Reply::Refused(r), _) = self.serve(req) {
                return Err(format!("storing a transferred object: {r}"));
            }
        }
        Ok(())
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
