//! Rampart's protocols as deterministic state machines.
//!
//! This crate holds identities, the canonical encoding, certificates, configurations and the
//! ring: everything a node, a client or a simulator must agree on bit for bit. It performs no
//! I/O, reads no clock and draws no randomness it was not handed: time arrives as a
//! [`time::Timestamp`] argument and randomness as an `rng` argument, so the same inputs always
//! give the same outputs (DESIGN.md §2, §3).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod analyst;
pub mod cert;
pub mod config;
pub mod constants;
pub mod crypto;
pub mod dbqs;
pub mod encoding;
pub mod epoch;
pub mod freshness;
pub mod guard;
pub mod id;
pub mod ms;
pub mod pbft;
pub mod probe;
pub mod ring;
pub mod status;
pub mod threshold;
pub mod time;
pub mod transfer;
pub mod wire;
