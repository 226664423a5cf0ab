//! What the PBFT state machine asks its host to do, and why it dropped input.

use crate::id::Hash;

use super::message::{CheckpointProof, PreparedProof, Signed};
use super::types::{ReplicaIdx, Seq, SignedReply, View};

/// A timer the replica sets; the host feeds [`super::Event::Timer`] back when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// Request progress (active) or new-view wait (changing view); expiry starts a view change.
    ViewChange,
    /// Periodic status broadcast.
    Status,
}

/// What the replica must persist, durably, before the host performs the actions after it.
/// Replaying the records after a crash rebuilds enough state that the replica never
/// contradicts what it said before the crash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Record {
    /// The replica entered `view`, active or changing to it.
    View {
        /// The view.
        view: View,
        /// Active (true) or waiting for its new-view message (false).
        active: bool,
    },
    /// A pre-prepare or new-view message the replica accepted or sent.
    Accepted(Signed),
    /// A prepare, commit, checkpoint or view change the replica sent.
    Sent(Signed),
    /// A prepared certificate the replica collected.
    Prepared(PreparedProof),
    /// A new stable checkpoint with the snapshot; earlier records may be discarded.
    Stable {
        /// The proof.
        proof: CheckpointProof,
        /// The replica snapshot at that sequence number.
        snapshot: Vec<u8>,
    },
}

/// Why a message or request was dropped. Each has a counter; the host logs them at debug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Drop {
    /// Undecodable or violating a bound.
    Malformed,
    /// Signature does not verify (or unknown sender).
    BadSignature,
    /// For another view than the one the replica is in.
    WrongView,
    /// A pre-prepare or new view not from the primary.
    NotPrimary,
    /// Sequence number outside the watermarks.
    OutOfWindow,
    /// Already seen.
    Duplicate,
    /// Contradicts what the sender said before.
    Conflicting,
    /// Older than what the replica holds.
    Stale,
    /// The pending-request queue or a per-client cap is full.
    Full,
    /// From a client the application does not admit.
    NotAdmitted,
    /// A proof (checkpoint, prepared, commit, view change, new view) that does not check.
    BadProof,
    /// A client request for another PBFT instance.
    WrongInstance,
}

/// An instruction to the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send to one replica.
    Send {
        /// The recipient.
        to: ReplicaIdx,
        /// The message.
        msg: Signed,
    },
    /// Send to every other replica.
    Broadcast(Signed),
    /// Send a reply to the client it names.
    Reply(SignedReply),
    /// A batch executed (for observers: metrics, tests).
    Executed {
        /// Its sequence number.
        seq: Seq,
        /// Its digest.
        digest: Hash,
        /// Requests in it that executed (duplicates skipped).
        executed: usize,
    },
    /// The state jumped to a checkpoint fetched from others.
    Restored {
        /// The checkpoint's sequence number.
        seq: Seq,
    },
    /// The replica entered a view.
    NewView(View),
    /// (Re)arm a timer.
    SetTimer {
        /// Which.
        timer: Timer,
        /// Fires after this many milliseconds.
        after_ms: u64,
    },
    /// Disarm a timer.
    CancelTimer(Timer),
    /// Persist before performing the following actions.
    Persist(Record),
    /// A replica signed two different digests for one step (pre-prepare, prepare or commit
    /// of one view and sequence number): the two messages prove it, to anyone who knows the
    /// instance's keys. The host reports them to the MS, which evicts the signer.
    Equivocation {
        /// The message held.
        a: Box<Signed>,
        /// The conflicting one.
        b: Box<Signed>,
    },
    /// Input was dropped.
    Dropped {
        /// The sender, if a replica.
        from: Option<ReplicaIdx>,
        /// Why.
        reason: Drop,
    },
}
