//! The Rampart client library: store and read objects in a running system.
//!
//! A [`Client`] connects through bootstrap peers, learns the current configuration (it only
//! believes one whose epoch certificate verifies under the MS public key), and runs each
//! operation against the object's replica group with dBQS quorums, so up to f lying replicas
//! per group cannot make it return a wrong value:
//!
//! - keyed objects live under the client's own key: [`Client::put`], [`Client::get`],
//!   [`Client::delete`], and for values of any size [`Client::put_from`] / [`Client::get_to`],
//!   which stream in 1 MiB chunks with bounded memory;
//! - content objects are named by their hash: [`Client::put_content`],
//!   [`Client::get_content`], [`Client::put_content_from`], [`Client::get_content_to`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), rampart::client::ClientError> {
//! use rampart::client::{Client, ClientOptions};
//! let opts = ClientOptions::from_files(
//!     "client.cred".as_ref(),
//!     "rampart-admin/ms.pub",
//!     &["/ip4/127.0.0.1/tcp/7700".to_string()],
//! )?;
//! let client = Client::connect(opts).await?;
//! client.put(b"greeting", b"hello").await?;
//! assert_eq!(client.get(b"greeting").await?.as_deref(), Some(&b"hello"[..]));
//! # Ok(()) }
//! ```
//!
//! A client needs a credential from the admin (`rampart admin add-client`) granting `put`
//! and/or `get`; replicas check it, its expiry and the epoch's revocations on every request.

mod blob_io;
mod driver;
mod journal_file;
mod links;
mod options;

pub use options::{ClientFile, ClientOptions};

use std::sync::Arc;
use std::time::Duration;

use overlay::crypto::PublicKey;
use overlay::dbqs::blob::Blob;
use overlay::dbqs::client::Outcome;
use overlay::dbqs::object::{Version, VersionKey, keyed_id};
use overlay::dbqs::replica::Refusal;
use overlay::id::{Epoch, Hash};
use tokio::sync::{mpsc, oneshot};

use driver::{Command, Driver, OpKind};

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Replicas refused (at least one correct replica did): the reason it gave.
    #[error("refused by the replicas: {0}")]
    Refused(Refusal),
    /// No quorum answered in time.
    #[error("no quorum answered within {}s", .0.as_secs())]
    Timeout(Duration),
    /// The configuration could not be obtained or does not verify.
    #[error("configuration: {0}")]
    Config(String),
    /// A local file, option or input is wrong.
    #[error("{0}")]
    Local(String),
    /// What the replicas returned does not reassemble into the value the owner signed.
    #[error("corrupt object: {0}")]
    Corrupt(String),
    /// The client's task stopped.
    #[error("the client stopped")]
    Closed,
}

/// A connection to a Rampart system. Cheap to clone; clones share one connection and may run
/// operations concurrently.
#[derive(Clone)]
pub struct Client {
    tx: mpsc::Sender<Command>,
    owner: PublicKey,
    /// Writes to one object take turns: two racing writes would sign two values with one
    /// version number, which replicas take as proof of equivocation and report, and the MS
    /// revokes the client. Striped, so writes to different objects still run side by side.
    /// (Two processes writing one object with one credential race all the same: don't.)
    writes: Arc<Vec<tokio::sync::Mutex<()>>>,
}

/// Stripes of the per-object write turns.
const WRITE_STRIPES: usize = 64;

impl Client {
    /// Connects through the bootstrap peers and waits for a verified configuration.
    pub async fn connect(opts: ClientOptions) -> Result<Client, ClientError> {
        let timing = crate::net::behaviour::Timing {
            request_timeout: opts.timeout,
            idle_timeout: Duration::from_secs(60),
        };
        let keypair = crate::net::peers::keypair_of(&opts.key);
        let swarm = crate::net::behaviour::build(keypair, timing)
            .map_err(|e| ClientError::Local(format!("cannot start networking: {e}")))?;
        let owner = opts.key.public();
        let journal = opts.journal.clone().map(journal_file::JournalFile::new);
        let inherited = match &journal {
            Some(f) => f.load()?,
            None => Default::default(),
        };
        let (tx, rx) = mpsc::channel(1024);
        let driver = Driver::new(
            swarm,
            opts.key,
            opts.credential,
            opts.ms_key,
            opts.bootstrap,
            opts.timeout,
        )
        .with_journal(inherited, journal);
        tokio::spawn(driver.run(rx));
        let client = Client {
            tx,
            owner,
            writes: Arc::new((0..WRITE_STRIPES).map(|_| Default::default()).collect()),
        };
        let (etx, erx) = oneshot::channel();
        client
            .tx
            .send(Command::Epoch(etx))
            .await
            .map_err(|_| ClientError::Closed)?;
        match tokio::time::timeout(opts.timeout, erx).await {
            Ok(Ok(Ok(_))) => Ok(client),
            Ok(Ok(Err(e))) => Err(e),
            Ok(Err(_)) => Err(ClientError::Closed),
            Err(_) => Err(ClientError::Config(format!(
                "no bootstrap peer gave a configuration certified by the MS key within {}s",
                opts.timeout.as_secs()
            ))),
        }
    }

    /// The key objects are stored under.
    pub fn owner(&self) -> PublicKey {
        self.owner
    }

    /// The epoch the client works in now.
    pub async fn epoch(&self) -> Result<Epoch, ClientError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Epoch(tx))
            .await
            .map_err(|_| ClientError::Closed)?;
        rx.await.map_err(|_| ClientError::Closed)?
    }

    async fn op(&self, kind: OpKind) -> Result<Outcome, ClientError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::Op(kind, tx))
            .await
            .map_err(|_| ClientError::Closed)?;
        rx.await.map_err(|_| ClientError::Closed)?
    }

    /// Writes a raw value (already laid out as a [`Blob`]) under `name`, or deletes it.
    async fn write_raw(
        &self,
        name: &[u8],
        value: Option<Vec<u8>>,
    ) -> Result<VersionKey, ClientError> {
        let stripe = keyed_id(&self.owner, name).0[0] as usize % WRITE_STRIPES;
        let _turn = match self.writes.get(stripe) {
            Some(m) => Some(m.lock().await),
            None => None,
        };
        match self
            .op(OpKind::Write {
                name: name.to_vec(),
                value,
            })
            .await?
        {
            Outcome::Written(k) => Ok(k),
            other => Err(unexpected(other)),
        }
    }

    /// The latest version of keyed object `id` (any owner's), as a quorum holds it; a
    /// tombstone if deleted.
    pub async fn read_version(&self, id: Hash) -> Result<Option<Version>, ClientError> {
        match self.op(OpKind::Read { id }).await? {
            Outcome::Read(v) => Ok(v.map(|b| *b)),
            other => Err(unexpected(other)),
        }
    }

    /// Stores `value` under `name` (this client's namespace) as its next version.
    pub async fn put(&self, name: &[u8], value: &[u8]) -> Result<VersionKey, ClientError> {
        self.put_from(name, value, value.len() as u64, &|_| {})
            .await
    }

    /// Reads the latest value of `name` (this client's namespace); `None` if never written
    /// or deleted.
    pub async fn get(&self, name: &[u8]) -> Result<Option<Vec<u8>>, ClientError> {
        self.get_of(&self.owner, name).await
    }

    /// Reads the latest value of `name` in `owner`'s namespace.
    pub async fn get_of(
        &self,
        owner: &PublicKey,
        name: &[u8],
    ) -> Result<Option<Vec<u8>>, ClientError> {
        let mut out = Vec::new();
        Ok(self
            .get_to_of(owner, name, &mut out, &|_, _| {})
            .await?
            .map(|_| out))
    }

    /// Deletes `name`: writes a signed tombstone as its next version.
    pub async fn delete(&self, name: &[u8]) -> Result<VersionKey, ClientError> {
        self.write_raw(name, None).await
    }

    /// Stores the bytes `reader` yields (`size` of them, for progress only) under `name`,
    /// in chunks if large. `progress` is called with the bytes stored so far.
    pub async fn put_from<R: std::io::Read>(
        &self,
        name: &[u8],
        reader: R,
        size: u64,
        progress: &dyn Fn(u64),
    ) -> Result<VersionKey, ClientError> {
        let _ = size;
        let blob = blob_io::store(self, reader, progress).await?;
        self.write_raw(name, Some(blob.to_bytes())).await
    }

    /// Writes the latest value of `name` to `writer`; returns its length, or `None` if the
    /// object was never written or is deleted.
    pub async fn get_to<W: std::io::Write>(
        &self,
        name: &[u8],
        writer: W,
        progress: &dyn Fn(u64, u64),
    ) -> Result<Option<u64>, ClientError> {
        self.get_to_of(&self.owner.clone(), name, writer, progress)
            .await
    }

    async fn get_to_of<W: std::io::Write>(
        &self,
        owner: &PublicKey,
        name: &[u8],
        writer: W,
        progress: &dyn Fn(u64, u64),
    ) -> Result<Option<u64>, ClientError> {
        let Some(v) = self.read_version(keyed_id(owner, name)).await? else {
            return Ok(None);
        };
        let Some(value) = v.value else {
            return Ok(None);
        };
        let blob = Blob::from_bytes(&value).map_err(ClientError::Corrupt)?;
        blob_io::fetch(self, &blob, writer, progress)
            .await
            .map(Some)
    }

    /// Stores a content object; returns its id.
    pub async fn put_content(&self, bytes: &[u8]) -> Result<Hash, ClientError> {
        self.put_content_from(bytes, &|_| {}).await
    }

    /// Reads content object `id`; `None` if no replica holds it.
    pub async fn get_content(&self, id: Hash) -> Result<Option<Vec<u8>>, ClientError> {
        let mut out = Vec::new();
        Ok(self
            .get_content_to(id, &mut out, &|_, _| {})
            .await?
            .map(|_| out))
    }

    /// Stores what `reader` yields as a content object (chunked if large); returns its id.
    pub async fn put_content_from<R: std::io::Read>(
        &self,
        reader: R,
        progress: &dyn Fn(u64),
    ) -> Result<Hash, ClientError> {
        let blob = blob_io::store(self, reader, progress).await?;
        self.put_raw_content(blob.to_bytes()).await
    }

    /// Writes content object `id` to `writer`; returns its length, or `None` if no replica
    /// holds it.
    pub async fn get_content_to<W: std::io::Write>(
        &self,
        id: Hash,
        writer: W,
        progress: &dyn Fn(u64, u64),
    ) -> Result<Option<u64>, ClientError> {
        let Some(raw) = self.get_raw_content(id).await? else {
            return Ok(None);
        };
        let blob = Blob::from_bytes(&raw).map_err(ClientError::Corrupt)?;
        blob_io::fetch(self, &blob, writer, progress)
            .await
            .map(Some)
    }

    /// Stores bytes as one content object as they are (a chunk).
    async fn put_raw_content(&self, bytes: Vec<u8>) -> Result<Hash, ClientError> {
        match self.op(OpKind::PutContent { bytes }).await? {
            Outcome::ContentStored(id) => Ok(id),
            other => Err(unexpected(other)),
        }
    }

    /// One content object's bytes as stored (a chunk, or a blob's encoding).
    async fn get_raw_content(&self, id: Hash) -> Result<Option<Vec<u8>>, ClientError> {
        match self.op(OpKind::GetContent { id }).await? {
            Outcome::Content(c) => Ok(c),
            other => Err(unexpected(other)),
        }
    }
}

fn unexpected(o: Outcome) -> ClientError {
    ClientError::Local(format!("unexpected outcome {o:?}"))
}
