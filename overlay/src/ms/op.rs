//! Operations the MS orders, their outcomes, and why one is refused.

use serde::{Deserialize, Serialize};

use super::evidence::Evidence;
use crate::cert::{CertError, Certificate};
use crate::config::{Configuration, Delta};
use crate::id::{ClientId, Epoch, NodeId};
use crate::time::Timestamp;

/// An operation submitted to the MS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Admit a node: an authority-signed `Add` certificate.
    Add(Certificate),
    /// Remove a node: an authority-signed `Remove` certificate.
    Remove(Certificate),
    /// Revoke a client: an authority-signed `Revoke` certificate.
    Revoke(Certificate),
    /// The submitting MS replica missed `node`'s probe answers k rounds in a row.
    Unresponsive {
        /// The node reported.
        node: NodeId,
    },
    /// Proof that a node or client signed two conflicting statements.
    Misbehaviour(Evidence),
    /// Close the epoch: make the next configuration. `now` is the proposing MS replica's clock;
    /// the MS time only moves forward.
    NewEpoch {
        /// The proposer's time.
        now: Timestamp,
    },
}

/// Why the MS refused an operation. The state is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum MsError {
    /// The certificate does not verify.
    #[error("certificate refused: {0}")]
    Cert(String),
    /// A certificate of another kind than the operation needs.
    #[error("a {got} certificate where {want} was expected")]
    WrongKind {
        /// The kind needed.
        want: String,
        /// The kind given.
        got: String,
    },
    /// This certificate was used already.
    #[error("certificate already used")]
    Replayed,
    /// The node is a member already (or queued to join).
    #[error("node {0:?} is already a member or queued to join")]
    AlreadyMember(NodeId),
    /// The node is not a member.
    #[error("node {0:?} is not a member")]
    NotMember(NodeId),
    /// The client is revoked already.
    #[error("client {0:?} is already revoked")]
    AlreadyRevoked(ClientId),
    /// Only MS replicas may report, and only about members.
    #[error("unresponsiveness reports come from MS replicas only")]
    NotReporter,
    /// The evidence proves nothing.
    #[error("the evidence does not prove misbehaviour")]
    BadEvidence,
    /// The proposed time goes backwards.
    #[error("time {got} is before the MS time {now}")]
    TimeBackwards {
        /// The MS time.
        now: Timestamp,
        /// The proposed time.
        got: Timestamp,
    },
    /// The next configuration would break a rule (too few members for f, ...).
    #[error("the next configuration would be invalid: {0}")]
    Invalid(String),
}

impl From<CertError> for MsError {
    fn from(e: CertError) -> Self {
        MsError::Cert(e.to_string())
    }
}

/// What an accepted operation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Queued for the next epoch.
    Queued,
    /// Recorded (a report below the eviction threshold).
    Noted,
    /// The next configuration and the delta to it.
    Epoch {
        /// The next configuration.
        config: Box<Configuration>,
        /// From the current one.
        delta: Box<Delta>,
        /// Its epoch.
        epoch: Epoch,
    },
}
