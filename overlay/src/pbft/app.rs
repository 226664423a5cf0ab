//! What the replicated service plugs into PBFT.

use crate::crypto::PublicKey;

/// A deterministic application replicated by PBFT. Given the same operations in the same
/// order, every correct replica's application must return the same results and snapshots.
pub trait Application {
    /// Whether `client` may submit requests at all. Requests from others are dropped before
    /// they take memory, which bounds the per-client state PBFT keeps.
    fn admits(&self, client: &PublicKey) -> bool;

    /// Executes `op` for `client` and returns the result sent back to it.
    fn execute(&mut self, client: &PublicKey, op: &[u8]) -> Vec<u8>;

    /// The whole state, canonically encoded (equal states give equal bytes).
    fn snapshot(&self) -> Vec<u8>;

    /// Replaces the state with a snapshot. On error the state must be unchanged.
    fn restore(&mut self, snapshot: &[u8]) -> Result<(), String>;
}
