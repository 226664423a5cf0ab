//! dBQS, the Byzantine quorum store (DESIGN.md §4): each key range is held by a replica group
//! of n = 3f+1 nodes and every operation needs answers from a quorum of 2f+1.
//!
//! Two kinds of object:
//! - content objects, named by the SHA-256 of their bytes: immutable and self-verifying;
//! - keyed objects, named by SHA-256(owner key ‖ name), whose versions the owner signs. A write
//!   learns the highest version from a quorum and stores the next one at a quorum; a read takes
//!   the highest validly signed version from a quorum and writes it back where replicas lag
//!   before returning, which makes the register atomic (linearizable).
//!
//! [`object`] holds the signed versions and their order, [`replica`] what a replica does with a
//! request, [`access`] the checks before it (epoch, credential, range, value layout),
//! [`provenance`] the proof of who stored an object, which transfers check, [`journal`] the
//! version numbers a client signed and never saw complete,
//! [`client`] and [`content`] the client's operations as state machines (replies in, messages
//! out), [`blob`] how large values become chunks under a manifest, [`wire`] the messages, and
//! [`mem`] a store in memory for simulations. Storage and the network are the host's.

pub mod access;
pub mod blob;
pub mod client;
pub mod content;
pub mod fixture;
pub mod journal;
pub mod mem;
pub mod object;
pub mod provenance;
pub mod replica;
pub mod wire;

#[cfg(test)]
mod tests;
