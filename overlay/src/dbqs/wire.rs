//! The store protocol's messages: every request carries the client's epoch and credential,
//! every reply the replica's epoch.

use serde::{Deserialize, Serialize};

use super::object::{NAME_BYTES_MAX, VALUE_BYTES_MAX};
use super::replica::{CONTENT_BYTES_MAX, Reply, Request};
use crate::cert::Certificate;
use crate::constants::CERT_BYTES_MAX;
use crate::id::Epoch;

/// Room for everything in a message besides the value: the client's and the version owner's
/// certificates, keys, signatures, a name, framing.
const OVERHEAD_BYTES: usize = 2 * CERT_BYTES_MAX + NAME_BYTES_MAX + 1024;
/// The largest store request accepted.
pub const STORE_REQUEST_BYTES_MAX: usize = max(VALUE_BYTES_MAX, CONTENT_BYTES_MAX) + OVERHEAD_BYTES;
/// The largest store reply accepted.
pub const STORE_REPLY_BYTES_MAX: usize = STORE_REQUEST_BYTES_MAX;

const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

/// A client's request to a replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreRequest {
    /// The epoch the client computed the replica group in.
    pub epoch: Epoch,
    /// The client's certificate; the connection proves the client holds its key.
    pub credential: Certificate,
    /// The operation.
    pub req: Request,
}

/// A replica's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreReply {
    /// The replica's epoch.
    pub epoch: Epoch,
    /// The answer.
    pub reply: Reply,
}
