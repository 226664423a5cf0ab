//! The MS as a PBFT application: operations arrive as encoded [`Op`]s from PBFT clients and
//! execute against [`State`]; the result tells the submitter what happened.
//!
//! Only members of the current configuration and the authority are admitted as clients, which
//! bounds the per-client table PBFT keeps. A joining node is not a member yet: it gives its
//! `Add` certificate to a member (its bootstrap peer), which submits it; the certificate is
//! authority-signed, so relaying it grants the relay nothing.

use serde::{Deserialize, Serialize};

use super::op::{MsError, Op, Outcome};
use super::state::State;
use crate::constants::MS_OP_BYTES_MAX;
use crate::crypto::PublicKey;
use crate::encoding::{decode, encode};
use crate::id::{Epoch, Hash};
use crate::pbft::{Application, MESSAGE_BYTES_MAX};

/// What a submitter learns about its operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Receipt {
    /// Queued for the next epoch.
    Queued,
    /// Recorded.
    Noted,
    /// The next configuration was made.
    Epoch {
        /// Its number.
        epoch: Epoch,
        /// Its hash.
        config: Hash,
        /// The hash of the delta to it.
        delta: Hash,
    },
    /// Refused, with the reason.
    Refused(MsError),
    /// The bytes are not an operation.
    Malformed(String),
}

/// The MS state as a PBFT application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MsApp {
    /// The state.
    pub state: State,
    /// Operations executed.
    pub executed: u64,
    /// H(previous ‖ client ‖ operation ‖ receipt) over the history: replicas that executed
    /// the same operations with the same results agree on it.
    pub chain: Hash,
    /// The epoch whose MS group runs this instance. Once its handover completes the state
    /// belongs to the next group, and this instance refuses every further operation, so the
    /// state the next group starts from is exactly what every correct replica here holds.
    pub instance: Epoch,
}

impl MsApp {
    /// The application over `state`, nothing executed yet.
    pub fn new(state: State) -> MsApp {
        MsApp {
            instance: state.config().epoch,
            state,
            executed: 0,
            chain: Hash::default(),
        }
    }

    /// Whether this instance has handed the state over to the next group.
    pub fn handed_over(&self) -> bool {
        self.state.config().epoch != self.instance
            && self.state.handover().is_some_and(|h| h.is_complete())
    }

    /// Encodes an operation for submission.
    pub fn encode_op(op: &Op) -> Vec<u8> {
        encode(op)
    }

    /// Decodes a result.
    pub fn decode_receipt(bytes: &[u8]) -> Option<Receipt> {
        decode(bytes, 64 * 1024).ok()
    }
}

impl Application for MsApp {
    fn admits(&self, client: &PublicKey) -> bool {
        self.state.admits(client)
    }

    fn execute(&mut self, client: &PublicKey, op: &[u8]) -> Vec<u8> {
        let receipt = match decode::<Op>(op, MS_OP_BYTES_MAX) {
            Err(e) => Receipt::Malformed(e.to_string()),
            Ok(_) if self.handed_over() => {
                Receipt::Refused(MsError::HandedOver(self.state.config().epoch))
            }
            Ok(op) => match self.state.apply(client, op) {
                Ok(Outcome::Queued) => Receipt::Queued,
                Ok(Outcome::Noted) => Receipt::Noted,
                Ok(Outcome::Epoch {
                    config,
                    delta,
                    epoch,
                }) => Receipt::Epoch {
                    epoch,
                    config: config.hash(),
                    delta: delta.hash(),
                },
                Err(e) => Receipt::Refused(e),
            },
        };
        let out = encode(&receipt);
        self.executed += 1;
        self.chain = Hash::of(&[&self.chain.0, client.as_bytes(), op, &out]);
        out
    }

    fn snapshot(&self) -> Vec<u8> {
        encode(self)
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), String> {
        *self = decode(snapshot, MESSAGE_BYTES_MAX).map_err(|e| e.to_string())?;
        Ok(())
    }
}
