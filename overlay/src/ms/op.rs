//! Operations the MS orders, their outcomes, and why one is refused.

use serde::{Deserialize, Serialize};

use super::evidence::Evidence;
use crate::cert::{CertError, Certificate};
use crate::config::{Configuration, Delta};
use crate::epoch::EpochCert;
use crate::id::{ClientId, Epoch, NodeId};
use crate::threshold::reshare::Dealing;
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
    /// Close epoch `closing`: make the next configuration and open the handover to the next
    /// MS group. `now` is the proposing MS replica's clock; the MS time only moves forward.
    /// Naming the epoch makes the operation idempotent: every MS replica may propose it when
    /// its epoch timer fires, and only the first one ordered counts.
    NewEpoch {
        /// The epoch to close.
        closing: Epoch,
        /// The proposer's time.
        now: Timestamp,
    },
    /// An old MS holder's redistribution of its key share.
    Deal(Dealing),
    /// A new MS holder found its sealed value in `dealer`'s dealing wrong.
    Complain {
        /// The dealer.
        dealer: NodeId,
    },
    /// A dealer settles a complaint by revealing the ephemeral secret of `receiver`'s value.
    Reveal {
        /// The complainer.
        receiver: NodeId,
        /// The ephemeral secret, a scalar.
        secret: [u8; 32],
    },
    /// A new MS holder has checked the first `checked` ordered dealings.
    Ready {
        /// How many.
        checked: u32,
    },
    /// The certificate the old group signed for the new epoch.
    Certified(EpochCert),
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
    /// Only MS replicas may report unresponsiveness or close an epoch.
    #[error("only MS replicas may report unresponsiveness or close an epoch")]
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
    /// `NewEpoch` for an epoch that is not the current one.
    #[error("epoch {closing} is not the current epoch {current}")]
    NotCurrent {
        /// The epoch named.
        closing: Epoch,
        /// The MS's epoch.
        current: Epoch,
    },
    /// The previous handover has not completed.
    #[error("the handover to epoch {0}'s MS group is still in progress")]
    HandoverInProgress(Epoch),
    /// This MS group handed the state over; submit to the given epoch's group.
    #[error("this MS group has handed over to the group of epoch {0}")]
    HandedOver(Epoch),
    /// No handover is open.
    #[error("no handover is open")]
    NoHandover,
    /// A handover operation was refused.
    #[error("handover: {0}")]
    Reshare(String),
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
