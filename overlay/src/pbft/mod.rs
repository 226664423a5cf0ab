//! PBFT (Castro and Liskov, OSDI '99; TOCS 2002) as a deterministic state machine.
//!
//! The replica takes [`Event`]s (a client request, a message from a replica, a timer) and
//! returns [`Action`]s (send, broadcast, reply, persist, set or cancel a timer); it never
//! touches the network, a clock or randomness, so a simulator can run many replicas in one
//! thread and replay any run from its seed.
//!
//! ```text
//! client → primary:  REQUEST(o, t, c)σc
//! primary → all:     PRE-PREPARE(v, n, d, batch)σp       if h < n ≤ H and none other for (v, n)
//! backup → all:      PREPARE(v, n, d, i)σi
//! prepared:          pre-prepare + 2f matching prepares from backups
//! all → all:         COMMIT(v, n, d, i)σi
//! committed-local:   prepared + 2f+1 matching commits → execute in n order, reply to c
//! every K:           CHECKPOINT(n, D(state), i)σi; 2f+1 matching → stable, h := n, GC
//! timeout:           VIEW-CHANGE(v+1, stable proof, prepared certificates)σi
//! new primary:       NEW-VIEW(v+1, 2f+1 view changes, pre-prepares for (min-s, max-s])σp
//! ```
//!
//! Deviations from the paper, and why:
//! - Messages are signed (the OSDI '99 variant) rather than authenticated with MAC vectors:
//!   proofs must be transferable and ed25519 is cheap enough at MS scale.
//! - Pre-prepares carry the whole batch, and so do prepared certificates and new-view
//!   messages: simpler than fetching batches by digest, at the cost of larger view changes.
//! - Retransmission and state transfer use one mechanism: periodic signed status messages
//!   answered by whoever is ahead (see `catchup.rs`), instead of the paper's partition tree.
//! - Recovery after a crash replays persisted records (see [`Record`]); batches committed but
//!   not checkpointed are fetched again from peers.

mod action;
mod app;
mod catchup;
mod checkpoint;
mod client;
mod config;
mod history;
mod message;
mod normal;
mod proof;
mod recovery;
mod replica;
mod types;
mod view_change;

pub use action::{Action, Drop, Record, Timer};
pub use app::Application;
pub use client::{Client, ClientAction};
pub use config::{Config, MESSAGE_BYTES_MAX, OP_BYTES_MAX};
pub use history::HistoryApp;
pub use message::{
    Catchup, CheckpointProof, ClientMessage, CommitProof, NewView, Payload, PreparedProof, Signed,
    ViewChange,
};
pub use replica::{DropCounts, Event, Mode, PENDING_PER_CLIENT_MAX, Replica};
pub use types::{
    Batch, ReplicaIdx, Reply, Request, Seq, SignedReply, SignedRequest, View, result_digest,
};

#[cfg(test)]
mod tests;
