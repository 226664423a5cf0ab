//! The group-commit writer: one thread takes every write the replica accepts (client puts,
//! objects a transfer brought), drains what is queued, runs the replica's rules on each
//! against one staged batch, writes the batch with one fsync and only then answers them all.
//! Before, each write was its own fsynced batch and four threads gave rocksdb at most four
//! writes to merge per fsync; now a burst of N writes costs one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use overlay::dbqs::replica::{Refusal, Reply, Request, handle_noting};
use overlay::id::Hash;
use overlay::transfer::mover::Item;
use tokio::sync::{mpsc, oneshot};

use super::actor::Served;
use super::staged::Staged;
use super::store::RocksStore;
use super::stripes::Stripes;
use crate::db::Db;

/// Jobs one batch takes at most.
pub const GROUP_MAX: usize = 256;
/// Value bytes one batch takes at most (past this the batch is written and the next begins).
pub const GROUP_BYTES_MAX: usize = 16 << 20;
/// Jobs queued for the writer at most; senders wait beyond.
const QUEUE_MAX: usize = 4096;

enum Job {
    Serve(Request, oneshot::Sender<Served>),
    Absorb(Vec<Item>, oneshot::Sender<Result<(), String>>),
}

impl Job {
    fn bytes(&self) -> usize {
        let of = |r: &Request| match r {
            Request::Write { version } => version.value.as_ref().map_or(0, Vec::len),
            Request::PutContent { bytes, .. } => bytes.len(),
            _ => 0,
        };
        match self {
            Job::Serve(r, _) => of(r),
            Job::Absorb(items, _) => items
                .iter()
                .map(|i| match i {
                    Item::Version(v) => v.value.as_ref().map_or(0, Vec::len),
                    Item::Content(c) => c.bytes.len(),
                })
                .sum(),
        }
    }

    fn keyed(&self) -> Vec<Hash> {
        match self {
            Job::Serve(Request::Write { version }, _) => vec![version.id()],
            Job::Serve(..) => Vec::new(),
            Job::Absorb(items, _) => items
                .iter()
                .filter_map(|i| match i {
                    Item::Version(v) => Some(v.id()),
                    Item::Content(_) => None,
                })
                .collect(),
        }
    }
}

/// What the writer did since it started: batches written (each one rocksdb write, one WAL
/// fsync when durable) and the jobs they held, so that writes per fsync can be read off.
#[derive(Default)]
struct Tally {
    batches: AtomicU64,
    jobs: AtomicU64,
}

/// A handle on the writer thread; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
    tally: Arc<Tally>,
}

impl Writer {
    /// Starts the writer over `db`, sharing `stripes` with the store's other threads.
    pub fn start(db: Db, stripes: Arc<Stripes>) -> Result<Writer, String> {
        let (tx, rx) = mpsc::channel(QUEUE_MAX);
        let store = RocksStore::new(db);
        let tally = Arc::new(Tally::default());
        let counted = tally.clone();
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || run(&store, &stripes, &counted, rx))
            .map_err(|e| format!("start the store writer: {e}"))?;
        Ok(Writer { tx, tally })
    }

    /// Batches written and the jobs they held, since the writer started.
    pub fn tally(&self) -> (u64, u64) {
        let t = &self.tally;
        (
            t.batches.load(Ordering::Relaxed),
            t.jobs.load(Ordering::Relaxed),
        )
    }

    /// Serves a write (a keyed `Write` or a `PutContent`) once it is on disk.
    pub async fn serve(&self, req: Request) -> Served {
        let (tx, rx) = oneshot::channel();
        let gone = || {
            let why = "the store writer stopped".to_string();
            (Reply::Refused(Refusal::Storage(why)), None)
        };
        if self.tx.send(Job::Serve(req, tx)).await.is_err() {
            return gone();
        }
        rx.await.unwrap_or_else(|_| gone())
    }

    /// Stores objects a transfer brought (each keyed version only if above what is held).
    pub async fn absorb(&self, items: Vec<Item>) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        let gone = || "the store writer stopped".to_string();
        self.tx
            .send(Job::Absorb(items, tx))
            .await
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }
}

fn run(store: &RocksStore, stripes: &Stripes, tally: &Tally, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.blocking_recv() {
        let mut bytes = first.bytes();
        let mut jobs = vec![first];
        while jobs.len() < GROUP_MAX && bytes < GROUP_BYTES_MAX {
            match rx.try_recv() {
                Ok(j) => {
                    bytes += j.bytes();
                    jobs.push(j);
                }
                Err(_) => break,
            }
        }
        tally.batches.fetch_add(1, Ordering::Relaxed);
        tally.jobs.fetch_add(jobs.len() as u64, Ordering::Relaxed);
        commit_group(store, stripes, jobs);
    }
}

/// What one job will be answered, once the batch is written.
enum Answer {
    Serve(Box<Served>, oneshot::Sender<Served>),
    Absorb(Result<(), String>, oneshot::Sender<Result<(), String>>),
}

fn commit_group(store: &RocksStore, stripes: &Stripes, jobs: Vec<Job>) {
    let ids: Vec<Hash> = jobs.iter().flat_map(Job::keyed).collect();
    let _held = stripes.all(ids.iter());
    let mut staged = Staged::new(store);
    let answers: Vec<Answer> = jobs
        .into_iter()
        .map(|job| match job {
            Job::Serve(req, tx) => Answer::Serve(Box::new(handle_noting(&mut staged, req)), tx),
            Job::Absorb(items, tx) => Answer::Absorb(absorb(&mut staged, items), tx),
        })
        .collect();
    let written = staged.commit();
    for a in answers {
        match (a, &written) {
            (Answer::Serve(served, tx), Ok(())) => {
                let _ = tx.send(*served);
            }
            (Answer::Absorb(r, tx), Ok(())) => {
                let _ = tx.send(r);
            }
            (Answer::Serve(_, tx), Err(e)) => {
                let _ = tx.send((Reply::Refused(Refusal::Storage(e.clone())), None));
            }
            (Answer::Absorb(_, tx), Err(e)) => {
                let _ = tx.send(Err(format!("storing transferred objects: {e}")));
            }
        }
    }
}

fn absorb(staged: &mut Staged<'_>, items: Vec<Item>) -> Result<(), String> {
    for item in items {
        let req = match item {
            Item::Version(version) => Request::Write { version },
            Item::Content(c) => Request::PutContent {
                bytes: c.bytes,
                proof: Box::new(c.proof),
            },
        };
        if let (Reply::Refused(r), _) = handle_noting(staged, req) {
            return Err(format!("storing a transferred object: {r}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use overlay::crypto::SecretKey;
    use overlay::dbqs::object::Version;
    use overlay::dbqs::replica::Store as _;
    use overlay::ms::Evidence;

    fn version(owner: &SecretKey, n: u64, value: &[u8]) -> Request {
        Request::Write {
            version: Box::new(Version::sign(owner, b"k", n, Some(value.to_vec()))),
        }
    }

    #[test]
    fn one_batch_compares_each_write_with_the_ones_before_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(dir.path(), true).expect("open");
        let store = RocksStore::new(db.clone());
        let stripes = Stripes::default();
        let owner = SecretKey::from_seed(&[3; 32]);
        let (txs, rxs): (Vec<_>, Vec<_>) = (0..4).map(|_| oneshot::channel()).unzip();
        let mut txs = txs.into_iter();
        let mut next = || txs.next().expect("a channel");
        let jobs = vec![
            Job::Serve(version(&owner, 2, b"two"), next()),
            Job::Serve(version(&owner, 1, b"one"), next()),
            Job::Serve(version(&owner, 3, b"three"), next()),
            // Another value under number 3, in the same batch: the owner equivocated.
            Job::Serve(version(&owner, 3, b"other"), next()),
        ];
        commit_group(&store, &stripes, jobs);
        let served: Vec<Served> = rxs
            .into_iter()
            .map(|rx| rx.blocking_recv().expect("answered"))
            .collect();
        let held = |s: &Served| match &s.0 {
            Reply::Stored { held } => held.number,
            other => panic!("{other:?}"),
        };
        assert_eq!(served.iter().map(held).collect::<Vec<_>>(), [2, 2, 3, 3]);
        assert!(matches!(served[3].1, Some(Evidence::Versions { .. })));
        let id = match version(&owner, 3, b"three") {
            Request::Write { version } => version.id(),
            _ => unreachable!(),
        };
        let reopened = RocksStore::new(db);
        let v = reopened.version(&id).expect("read").expect("held");
        assert_eq!(v.value.as_deref(), Some(&b"three"[..]));
    }

    #[test]
    fn the_writer_answers_after_the_write_and_absorbs_transfers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(dir.path(), true).expect("open");
        let writer = Writer::start(db.clone(), Arc::new(Stripes::default())).expect("start");
        let owner = SecretKey::from_seed(&[4; 32]);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let replies = rt.block_on(async {
            let all = (1..=50u64).map(|n| writer.serve(version(&owner, n, &n.to_le_bytes())));
            futures::future::join_all(all).await
        });
        assert!(replies.iter().all(|r| matches!(r.0, Reply::Stored { .. })));
        let newer = Version::sign(&owner, b"k", 60, Some(b"moved".to_vec()));
        let id = newer.id();
        rt.block_on(writer.absorb(vec![Item::Version(Box::new(newer))]))
            .expect("absorbed");
        let v = RocksStore::new(db)
            .version(&id)
            .expect("read")
            .expect("held");
        assert_eq!(v.stamp.number, 60);
    }
}
