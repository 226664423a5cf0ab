//! The membership service's state machine (Rodrigues et al. 2012, DESIGN.md §4), the
//! application the MS group replicates with PBFT.
//!
//! It holds the current configuration and what is queued for the next one: admissions and
//! removals certified by the authority, revocations, unresponsiveness reports from MS
//! replicas, and evictions proven by evidence of misbehaviour. `NewEpoch` turns the queue into
//! the next configuration and its delta. Every input is checked before it changes anything;
//! a refused operation leaves the state as it was and says why.
//!
//! `NewEpoch` also opens the [`Handover`] of the MS key and state to the next group, which
//! the old group orders to completion (dealings, complaints, reveals, the epoch certificate);
//! [`driver::Driver`] decides what a correct replica submits along the way.
//! Probes (`crate::probe`) and epoch news (`crate::epoch::news`) live beside it: they are
//! what nodes exchange over gossip, not what the MS orders.

mod app;
pub mod driver;
mod evidence;
mod handover;
pub mod intake;
mod op;
pub mod roles;
mod state;

pub use app::{MsApp, Receipt};
pub use evidence::{Evidence, Statement};
pub use handover::Handover;
pub use op::{MsError, Op, Outcome};
pub use state::{Pending, State};

#[cfg(test)]
mod tests;
