//! The null-operation application: it orders operations and keeps nothing but a count and a
//! hash chain of what it executed, so replicas can compare histories cheaply. Used by the
//! ordering benchmark and tests, and by nodes until the membership service replaces it.

use serde::{Deserialize, Serialize};

use super::app::Application;
use crate::crypto::PublicKey;
use crate::encoding::{decode, encode};
use crate::id::Hash;

/// Count and hash chain of executed operations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryApp {
    /// Operations executed.
    pub count: u64,
    /// H(previous chain ‖ client ‖ operation), folded over the history.
    pub chain: Hash,
}

impl Application for HistoryApp {
    fn admits(&self, _client: &PublicKey) -> bool {
        true
    }

    fn execute(&mut self, client: &PublicKey, op: &[u8]) -> Vec<u8> {
        self.count += 1;
        self.chain = Hash::of(&[&self.chain.0, client.as_bytes(), op]);
        self.count.to_be_bytes().to_vec()
    }

    fn snapshot(&self) -> Vec<u8> {
        encode(self)
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), String> {
        *self = decode(snapshot, 64).map_err(|e| e.to_string())?;
        Ok(())
    }
}
