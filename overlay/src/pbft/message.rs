//! Protocol messages. Every message between replicas is a [`Signed`] envelope: the sender's
//! index, the payload and the sender's Ed25519 signature over (instance, sender, payload), so
//! that prepared certificates and view-change proofs can be shown to third parties (PBFT with
//! signatures, OSDI '99 §4).

use serde::{Deserialize, Serialize};

use crate::crypto::{self, BadSignature, SecretKey, Signature};
use crate::encoding::{DecodeError, Domain, decode, encode};
use crate::id::Hash;

use super::config::{Config, MESSAGE_BYTES_MAX};
use super::types::{Batch, ReplicaIdx, Seq, SignedRequest, View};

/// What a replica says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Payload {
    /// A client request relayed by a backup to the primary.
    Request(Box<SignedRequest>),
    /// The primary orders `batch` at (`view`, `seq`) (PBFT §4.2).
    PrePrepare {
        /// View.
        view: View,
        /// Sequence number.
        seq: Seq,
        /// The batch's digest.
        digest: Hash,
        /// The batch.
        batch: Batch,
    },
    /// A backup accepted the pre-prepare for (`view`, `seq`, `digest`).
    Prepare {
        /// View.
        view: View,
        /// Sequence number.
        seq: Seq,
        /// Batch digest.
        digest: Hash,
    },
    /// The sender is prepared at (`view`, `seq`, `digest`).
    Commit {
        /// View.
        view: View,
        /// Sequence number.
        seq: Seq,
        /// Batch digest.
        digest: Hash,
    },
    /// The sender's state after executing `seq` has digest `state` (PBFT §4.3).
    Checkpoint {
        /// Sequence number.
        seq: Seq,
        /// Digest of the snapshot.
        state: Hash,
    },
    /// The sender moves to `new_view` (PBFT §4.4).
    ViewChange(Box<ViewChange>),
    /// The primary of a new view starts it.
    NewView(Box<NewView>),
    /// Where the sender stands, sent periodically so peers can retransmit and help it catch up.
    Status {
        /// The sender's view.
        view: View,
        /// Whether that view is active (not changing).
        active: bool,
        /// The last sequence number it executed.
        last_exec: Seq,
        /// Its last stable checkpoint.
        stable: Seq,
    },
    /// A stable checkpoint's proof, for a replica whose checkpoint votes were lost.
    Stable(CheckpointProof),
    /// A stable checkpoint and committed batches above it, for a replica that is behind.
    Catchup(Box<Catchup>),
}

/// A pre-prepare and 2f matching prepares from distinct backups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreparedProof {
    /// The pre-prepare.
    pub pre_prepare: Signed,
    /// The prepares.
    pub prepares: Vec<Signed>,
}

/// 2f+1 matching checkpoint messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CheckpointProof {
    /// Sequence number.
    pub seq: Seq,
    /// State digest.
    pub state: Hash,
    /// The checkpoint messages; empty for the initial state at sequence 0.
    pub votes: Vec<Signed>,
}

/// A pre-prepare and 2f+1 matching commits: the batch is committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitProof {
    /// The pre-prepare.
    pub pre_prepare: Signed,
    /// The commits.
    pub commits: Vec<Signed>,
}

/// A view-change message's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewChange {
    /// The view the sender moves to.
    pub new_view: View,
    /// Its last stable checkpoint, with proof.
    pub stable: CheckpointProof,
    /// A prepared certificate for each sequence number above it that the sender prepared.
    pub prepared: Vec<PreparedProof>,
}

/// A new-view message's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewView {
    /// The view.
    pub view: View,
    /// 2f+1 view-change messages for it.
    pub view_changes: Vec<Signed>,
    /// The primary's pre-prepares for every sequence number between the highest stable
    /// checkpoint and the highest prepared sequence number in `view_changes`.
    pub pre_prepares: Vec<Signed>,
}

/// State for a replica that is behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catchup {
    /// A stable checkpoint with its snapshot, when the receiver is behind it.
    pub checkpoint: Option<(CheckpointProof, Vec<u8>)>,
    /// Committed batches above it, in order.
    pub committed: Vec<CommitProof>,
}

/// A signed message from a replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed {
    /// The sender.
    pub from: ReplicaIdx,
    /// What it says.
    pub payload: Payload,
    /// Its signature over (instance, from, payload).
    pub sig: Signature,
}

#[derive(Serialize)]
struct SigInput<'a> {
    instance: &'a Hash,
    from: ReplicaIdx,
    payload: &'a Payload,
}

impl Domain for SigInput<'_> {
    const DOMAIN: &'static str = "pbft-message";
}

impl Signed {
    /// Signs `payload` as replica `from` of instance `instance`.
    pub fn sign(key: &SecretKey, instance: &Hash, from: ReplicaIdx, payload: Payload) -> Signed {
        let sig = key.sign(&SigInput {
            instance,
            from,
            payload: &payload,
        });
        Signed { from, payload, sig }
    }

    /// Checks the signature against the sender's key in `cfg`.
    pub fn verify(&self, cfg: &Config) -> Result<(), BadSignature> {
        let key = cfg.key(self.from).ok_or(BadSignature)?;
        let input = SigInput {
            instance: &cfg.instance,
            from: self.from,
            payload: &self.payload,
        };
        crypto::verify(key, &input, &self.sig)
    }

    /// The wire encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes from the wire, bounded.
    pub fn from_bytes(bytes: &[u8]) -> Result<Signed, DecodeError> {
        decode(bytes, MESSAGE_BYTES_MAX)
    }
}

/// What a client receives or sends on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientMessage {
    /// A request, client to replica.
    Request(SignedRequest),
    /// A reply, replica to client.
    Reply(super::types::SignedReply),
}
