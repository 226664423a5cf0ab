//! The messages replicas exchange to move state: listings and objects of a range as an old
//! replica held it in a past epoch, and "do you hold these ranges completely?" before an old
//! replica deletes. Only members of the asked node's configuration are answered.

use serde::{Deserialize, Serialize};

use super::page::{ListPage, ListRequest, PAGE_ENTRIES_MAX};
use crate::dbqs::replica::{Reply, Request};
use crate::dbqs::wire::STORE_REPLY_BYTES_MAX;
use crate::id::Epoch;
use crate::ring::Range;

/// Most ranges one completeness question names.
pub const COMPLETE_RANGES_MAX: usize = 4096;
/// The largest transfer request accepted.
pub const TRANSFER_REQUEST_BYTES_MAX: usize = COMPLETE_RANGES_MAX * 70 + 1024;
/// The largest transfer reply accepted: an object, or a page of entries.
pub const TRANSFER_REPLY_BYTES_MAX: usize = max(STORE_REPLY_BYTES_MAX, PAGE_ENTRIES_MAX * 128);

const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

/// What is asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Ask {
    /// A page of what the asked node held of a range in epoch `source`.
    List {
        /// The epoch whose group the asker fetches from.
        source: Epoch,
        /// The page wanted.
        req: ListRequest,
    },
    /// One object (a read or a content read) of a range held in epoch `source`.
    Get {
        /// The epoch whose group the asker fetches from.
        source: Epoch,
        /// The read.
        req: Request,
    },
    /// Which of `ranges` the asked node holds completely as a replica of epoch `epoch`.
    Complete {
        /// The epoch.
        epoch: Epoch,
        /// The ranges.
        ranges: Vec<Range>,
    },
}

/// A replica's transfer request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRequest {
    /// The asker's epoch.
    pub epoch: Epoch,
    /// The question.
    pub ask: Ask,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Answer {
    /// A listing page.
    Page(ListPage),
    /// An object.
    Object(Reply),
    /// Per range asked, whether it is held completely.
    Complete(Vec<bool>),
    /// Not answered, and why (not a member, not there yet, not held completely).
    Refused(String),
}

/// A transfer reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferReply {
    /// The answering node's epoch.
    pub epoch: Epoch,
    /// The answer.
    pub answer: Answer,
}
