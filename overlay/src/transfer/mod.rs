//! State transfer (issue 6, DESIGN.md §4): a replica that gains a range in a new epoch fetches
//! its objects from the range's old group. An object is settled only once 2f+1 old replicas
//! can no longer raise it ([`wanted`]: a write reached 2f+1 old replicas, so any 2f+1 include a
//! correct holder of it), and only objects with a proof that a client allowed to store stored
//! them are taken (`dbqs::provenance`). The range is walked in pages in ring order from its
//! start, so the cursor after a page is all a restarted transfer needs.
//!
//! [`page`] holds the listing messages and how a replica answers one; [`fetch`] the new
//! replica's side as a state machine; [`gate`] whom an old replica answers.

pub mod fetch;
pub mod gate;
pub mod mover;
pub mod page;
pub mod wanted;
pub mod wire;

#[cfg(test)]
mod tests;
