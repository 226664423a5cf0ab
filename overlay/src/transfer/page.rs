//! Listing a range page by page, in ring order from the range's start.

use serde::{Deserialize, Serialize};

use crate::dbqs::object::VersionKey;
use crate::id::Hash;
use crate::ring::Range;

/// Most entries in one page.
pub const PAGE_ENTRIES_MAX: usize = 1024;

/// What a replica says it holds of one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Held {
    /// A keyed object at this version.
    Keyed(VersionKey),
    /// A content object.
    Content,
}

/// One listed object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    /// Its id (its ring position).
    pub id: Hash,
    /// What is held.
    pub held: Held,
}

/// "List what you hold in `range` after `after`, at most `limit` entries."
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRequest {
    /// The range.
    pub range: Range,
    /// Only objects after this one in ring order (none: from the range's start).
    pub after: Option<Hash>,
    /// Most entries wanted.
    pub limit: u32,
}

/// A page of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListPage {
    /// Entries in ring order from the range's start.
    pub entries: Vec<Listed>,
    /// Whether the listing reached the range's end.
    pub complete: bool,
}

/// Where `id` lies in `range`, counted clockwise from the range's start (wrapping 256-bit
/// subtraction), so that ring order within a range is plain order of offsets.
pub fn offset(range: &Range, id: &Hash) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(id.0[i]) - i16::from(range.start.0[i]) - borrow;
        (out[i], borrow) = if d < 0 {
            ((d + 256) as u8, 1)
        } else {
            (d as u8, 0)
        };
    }
    out
}

/// A replica's answer to `req` from everything it holds (in any order).
pub fn page_of(req: &ListRequest, held: impl IntoIterator<Item = Listed>) -> ListPage {
    let limit = (req.limit as usize).clamp(1, PAGE_ENTRIES_MAX);
    let after = req.after.map(|a| offset(&req.range, &a));
    let mut entries: Vec<([u8; 32], Listed)> = held
        .into_iter()
        .filter(|l| req.range.contains(&l.id))
        .map(|l| (offset(&req.range, &l.id), l))
        .filter(|(o, _)| after.is_none_or(|a| *o > a))
        .collect();
    entries.sort_unstable_by_key(|e| e.0);
    let complete = entries.len() <= limit;
    entries.truncate(limit);
    ListPage {
        entries: entries.into_iter().map(|(_, l)| l).collect(),
        complete,
    }
}
