//! PBFT under simulation: n replicas (some Byzantine), a few clients, a faulty network, crashes
//! and restarts, with the safety invariants checked after every event and liveness checked
//! once the network has been stable long enough.

pub mod app;
mod params;
mod world;

pub use params::Params;
pub use world::{Outcome, run};
