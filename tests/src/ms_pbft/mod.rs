//! The membership service inside the PBFT simulator (issue 4): every MS replica runs the real
//! `Replica<MsApp>` over the simulated network of `sim` (delays, loss, duplicates, partitions
//! and crash-restarts before GST), every node runs the real `Driver`, its PBFT client and, as a
//! holder or coordinator, the real FROST `Signer` and `Coordinator`, with signing messages on
//! the same network. Each epoch the next group starts a new PBFT instance from the state the
//! old one handed over; nodes outside a group follow it by polling its replicas and trusting a
//! state only when f_ms+1 of them report it identically.
//!
//! One node is Byzantine in most runs: it lies in PBFT (one of `byzantine::pbft`'s behaviours,
//! equivocating pre-prepares among them) and in the MS (a wrong sealed sub-share with no
//! reveal, false complaints and a false unresponsive report, wrong signature shares, silence,
//! stale poll answers), and may sign two conflicting statements, which a correct node turns
//! into evidence. The admin admits, removes and revokes through PBFT; crashed nodes are
//! reported unresponsive by the correct MS replicas.
//!
//! Invariants, after every event that executes an operation: PBFT agreement within each
//! instance; the MS key never changes; one configuration certified per epoch; every certified
//! configuration follows the MS rules (only admitted joiners, only removed, reported or
//! evidenced leavers, only certified revocations, the group drawn from the previous
//! certificate); an old holder outside the new group keeps no share. Liveness after GST: the
//! planned epochs are certified, every admitted change is reflected, every live member adopts
//! the last configuration, and the last group signs under the genesis key.

mod admin;
mod checks;
mod drive;
mod node;
mod params;
mod world;

pub use params::{FAULTS, Params};
pub use world::{Outcome, run};
