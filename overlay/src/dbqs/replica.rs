//! What a dBQS replica does with one request: check it, consult or update its store, answer.
//! A replica never stores a version that does not verify, never replaces a version with a
//! lower one, and answers a bad request with the reason, its store unchanged.

use serde::{Deserialize, Serialize};

use super::object::{BadVersion, Version, VersionKey, content_id};
use super::provenance::{Content, ContentProof};
use crate::id::{Epoch, Hash};
use crate::ms::Evidence;

/// The largest content object stored in one piece.
pub const CONTENT_BYTES_MAX: usize = 4 * 1024 * 1024;

/// A client's request to one replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// The highest version held of keyed object `id`.
    Read {
        /// The object.
        id: Hash,
    },
    /// Keep `version` if it is above what is held: a writer's new version, or a version a
    /// reader saw elsewhere and writes back.
    Write {
        /// The version.
        version: Box<Version>,
    },
    /// A content object.
    GetContent {
        /// Its id.
        id: Hash,
    },
    /// Keep a content object.
    PutContent {
        /// Its bytes.
        bytes: Vec<u8>,
        /// Who stores it (checked by the gate before the request reaches the store).
        proof: Box<ContentProof>,
    },
}

/// A replica's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// The highest version held, if any.
    Version(Option<Box<Version>>),
    /// After a write: the version now held (the one written, or a higher one).
    Stored {
        /// Its key.
        held: VersionKey,
    },
    /// A content object, if held, with who stored it.
    Content(Option<Box<Content>>),
    /// A content object is held.
    ContentStored {
        /// Its id.
        id: Hash,
    },
    /// The request was refused; nothing changed.
    Refused(Refusal),
}

/// Why a replica refused a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Refusal {
    /// The version does not verify.
    #[error("bad version: {0}")]
    BadVersion(String),
    /// Over a bound.
    #[error("too large: {0}")]
    TooLarge(String),
    /// The replica's storage failed.
    #[error("storage failed: {0}")]
    Storage(String),
    /// The client is in an older epoch: it must fetch the current configuration and retry.
    #[error("the client's epoch {client} is older than the replica's {current}")]
    StaleEpoch {
        /// The client's epoch.
        client: Epoch,
        /// The replica's.
        current: Epoch,
    },
    /// The replica is in an older epoch than the client; it is catching up.
    #[error("the replica is still in epoch {current}, behind the client's {client}")]
    ReplicaBehind {
        /// The client's epoch.
        client: Epoch,
        /// The replica's.
        current: Epoch,
    },
    /// The object's range is not this replica's in this epoch.
    #[error("this replica does not hold object {0} in this epoch")]
    NotHeld(Hash),
    /// The credential does not verify (wrong authority, forged, malformed, another key's).
    #[error("bad credential: {0}")]
    BadCredential(String),
    /// The credential is good but does not allow this (expired, revoked, missing capability).
    #[error("denied: {0}")]
    Denied(String),
    /// The replica has too much in flight; try again shortly.
    #[error("replica busy: too many requests in flight")]
    Busy,
}

impl Refusal {
    /// Whether the refusal is about epochs, so that the operation is worth retrying once the
    /// lagging side caught up.
    pub fn is_epoch(&self) -> bool {
        matches!(
            self,
            Refusal::StaleEpoch { .. } | Refusal::ReplicaBehind { .. }
        )
    }

    /// Whether the same request may well succeed if sent again a little later (the epochs
    /// caught up, the replica is less busy).
    pub fn is_transient(&self) -> bool {
        self.is_epoch() || matches!(self, Refusal::Busy)
    }
}

impl From<BadVersion> for Refusal {
    fn from(e: BadVersion) -> Refusal {
        Refusal::BadVersion(e.to_string())
    }
}

/// A replica's storage, supplied by the host: rocksdb on nodes, a map in simulations.
pub trait Store {
    /// The version held of keyed object `id`.
    fn version(&self, id: &Hash) -> Result<Option<Version>, String>;
    /// Keeps `v` as the version of its object (the caller checked it is higher).
    fn put_version(&mut self, v: Version) -> Result<(), String>;
    /// The content object `id`.
    fn content(&self, id: &Hash) -> Result<Option<Content>, String>;
    /// Whether content object `id` is held.
    fn has_content(&self, id: &Hash) -> Result<bool, String>;
    /// Keeps a content object under its id.
    fn put_content(&mut self, id: Hash, content: Content) -> Result<(), String>;
}

/// Handles one request against `store`.
pub fn handle<S: Store>(store: &mut S, req: Request) -> Reply {
    handle_noting(store, req).0
}

/// Handles one request against `store`, and returns with the reply the proof that the
/// object's owner signed two different values as one version, when the request shows it:
/// the host reports it to the MS, which revokes the owner.
pub fn handle_noting<S: Store>(store: &mut S, req: Request) -> (Reply, Option<Evidence>) {
    let mut evidence = None;
    let reply = match serve(store, req, &mut evidence) {
        Ok(r) => r,
        Err(e) => Reply::Refused(e),
    };
    (reply, evidence)
}

/// The evidence that `held` and `sent`, both verified, are two values of one version.
fn equivocation(held: &Version, sent: &Version) -> Option<Evidence> {
    let conflict = held.stamp.owner == sent.stamp.owner
        && held.stamp.name == sent.stamp.name
        && held.stamp.number == sent.stamp.number
        && held.stamp.digest != sent.stamp.digest;
    conflict.then(|| Evidence::Versions {
        a: (held.stamp.clone(), held.sig),
        b: (sent.stamp.clone(), sent.sig),
    })
}

fn serve<S: Store>(
    store: &mut S,
    req: Request,
    evidence: &mut Option<Evidence>,
) -> Result<Reply, Refusal> {
    match req {
        Request::Read { id } => Ok(Reply::Version(
            store.version(&id).map_err(Refusal::Storage)?.map(Box::new),
        )),
        Request::Write { version } => {
            version.verify()?;
            let id = version.id();
            let held = store.version(&id).map_err(Refusal::Storage)?;
            let held_key = held.as_ref().map_or(VersionKey::NONE, Version::key);
            if let Some(h) = &held {
                *evidence = equivocation(h, &version);
            }
            if version.key() <= held_key {
                return Ok(Reply::Stored { held: held_key });
            }
            let key = version.key();
            store.put_version(*version).map_err(Refusal::Storage)?;
            Ok(Reply::Stored { held: key })
        }
        Request::GetContent { id } => Ok(Reply::Content(
            store.content(&id).map_err(Refusal::Storage)?.map(Box::new),
        )),
        Request::PutContent { bytes, proof } => {
            if bytes.len() > CONTENT_BYTES_MAX {
                return Err(Refusal::TooLarge(format!(
                    "a content object of {} bytes, at most {CONTENT_BYTES_MAX}",
                    bytes.len()
                )));
            }
            let id = content_id(&bytes);
            if !store.has_content(&id).map_err(Refusal::Storage)? {
                let proof = *proof;
                store
                    .put_content(id, Content { bytes, proof })
                    .map_err(Refusal::Storage)?;
            }
            Ok(Reply::ContentStored { id })
        }
    }
}
