//! The application the PBFT simulations replicate: an append-only log of executed requests.
//! Its state is the whole history, so comparing two replicas' states compares their histories,
//! and each result is the request's position in the history, which clients check.

use overlay::crypto::PublicKey;
use overlay::encoding::{decode, encode};
use overlay::pbft::Application;
use serde::{Deserialize, Serialize};

/// One executed request: (client key bytes, timestamp, operation).
pub type Entry = ([u8; 32], u64, Vec<u8>);

/// The executed history.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LogApp {
    /// Every executed request in order.
    pub log: Vec<Entry>,
}

impl LogApp {
    /// The result a replica returns for the request at `index`.
    pub fn result_at(index: usize) -> Vec<u8> {
        (index as u64).to_be_bytes().to_vec()
    }
}

impl Application for LogApp {
    fn admits(&self, _client: &PublicKey) -> bool {
        true
    }

    fn execute(&mut self, client: &PublicKey, op: &[u8]) -> Vec<u8> {
        let index = self.log.len();
        // The timestamp is not visible to the application; the op carries it for the checks.
        let ts = op
            .get(..8)
            .map(|b| u64::from_be_bytes(b.try_into().unwrap_or([0; 8])))
            .unwrap_or(0);
        self.log.push((client.to_bytes(), ts, op.to_vec()));
        LogApp::result_at(index)
    }

    fn snapshot(&self) -> Vec<u8> {
        encode(self)
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), String> {
        *self = decode(snapshot, usize::MAX).map_err(|e| e.to_string())?;
        Ok(())
    }
}
