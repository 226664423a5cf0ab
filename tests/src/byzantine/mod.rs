//! Byzantine behaviours for simulated nodes, one file per protocol. Each wraps a correct
//! state machine and rewrites what it sends.

pub mod pbft;
