//! Rampart's node and client library: the libp2p side of a node, its configuration and start-up,
//! and clients of the services a running system offers.
//!
//! The `rampart` binary is a thin command line over this crate.

pub mod analyzer;
pub mod byzantine;
pub mod client;
pub mod metrics;
pub mod net;
pub mod node;
pub mod ordering;
pub mod timeutil;
