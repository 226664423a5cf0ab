//! State transfer (issue 6, DESIGN.md §4): a replica that gains a range in a new epoch fetches
//! its objects from the range's old group. For each keyed object it keeps the highest validly
//! signed version that any of 2f+1 old replicas lists (a write reached 2f+1 old replicas, so
//! any 2f+1 listings include a correct replica that holds it); for a content object, any copy
//! whose hash is its id. The range is walked in pages in ring order from its start, so the
//! cursor after a page is all a restarted transfer needs.
//!
//! [`page`] holds the listing messages and how a replica answers one; [`fetch`] the new
//! replica's side as a state machine.

pub mod fetch;
pub mod mover;
pub mod page;
pub mod wire;

#[cfg(test)]
mod tests;
