//! The membership service's state machine (Rodrigues et al. 2012, DESIGN.md §4), the
//! application the MS group replicates with PBFT.
//!
//! It holds the current configuration and what is queued for the next one: admissions and
//! removals certified by the authority, revocations, unresponsiveness reports from MS
//! replicas, and evictions proven by evidence of misbehaviour. `NewEpoch` turns the queue into
//! the next configuration and its delta. Every input is checked before it changes anything;
//! a refused operation leaves the state as it was and says why.
//!
//! Not here yet (issue 4): threshold signing of the epoch certificate, MS rotation with key
//! re-sharing, probes and dissemination. This module decides *what* the next configuration is;
//! those decide how it is signed and spread.

mod app;
mod evidence;
mod op;
mod state;

pub use app::{MsApp, Receipt};
pub use evidence::{Evidence, Statement};
pub use op::{MsError, Op, Outcome};
pub use state::{Pending, State};

#[cfg(test)]
mod tests;
