//! The PBFT replica: state and event dispatch. The handlers live beside this file, one per
//! part of the protocol: `normal.rs` (requests, pre-prepare, prepare, commit, execution),
//! `checkpoint.rs`, `view_change.rs`, `catchup.rs` (status and state transfer) and
//! `recovery.rs` (rebuilding from persisted records).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::crypto::SecretKey;
use crate::encoding::{decode, encode};
use crate::id::Hash;

use super::action::{Action, Drop, Record, Timer};
use super::app::Application;
use super::config::{Config, MESSAGE_BYTES_MAX};
use super::message::{CheckpointProof, Payload, PreparedProof, Signed};
use super::types::{Batch, ReplicaIdx, Seq, SignedRequest, View};

/// Requests one client may have waiting to be ordered.
pub const PENDING_PER_CLIENT_MAX: usize = 4;

/// An input to the replica.
#[derive(Debug, Clone)]
pub enum Event {
    /// A request straight from a client.
    Request(SignedRequest),
    /// A message from a replica (decoded, not yet verified).
    Message(Signed),
    /// A timer fired.
    Timer(Timer),
}

/// Whether the replica is working in its view or waiting for that view's new-view message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Normal operation in `view`.
    Active,
    /// Sent a view change for `view`; waiting for its new-view message.
    Changing,
}

/// One client's last executed request (PBFT §4.1: exactly-once execution). It is part of the
/// checkpointed state, so it holds nothing that differs between correct replicas: not the view
/// the request executed in, which does when a new view re-proposes a batch some replicas had
/// executed already (checkpoints then never matched; PBFT simulation seed 3532).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct ClientEntry {
    pub(super) last_ts: u64,
    pub(super) last_result: Vec<u8>,
}

/// The replica's part of the checkpointed state: the application and the client table.
#[derive(Serialize, Deserialize)]
pub(super) struct Snapshot {
    pub(super) app: Vec<u8>,
    pub(super) clients: Vec<([u8; 32], ClientEntry)>,
}

/// A vote (prepare or commit) as stored in a slot.
#[derive(Debug, Clone)]
pub(super) struct Vote {
    pub(super) view: View,
    pub(super) digest: Hash,
    pub(super) msg: Signed,
}

/// Everything known about one sequence number.
#[derive(Debug, Clone, Default)]
pub(super) struct Slot {
    /// The accepted pre-prepare: (view, digest, batch, message).
    pub(super) pre_prepare: Option<(View, Hash, Batch, Signed)>,
    /// Each replica's latest prepare.
    pub(super) prepares: BTreeMap<ReplicaIdx, Vote>,
    /// Each replica's latest commit.
    pub(super) commits: BTreeMap<ReplicaIdx, Vote>,
    /// The prepared certificate of the highest view this replica prepared in.
    pub(super) prepared: Option<PreparedProof>,
    /// The view this replica sent its commit in.
    pub(super) committed_in: Option<View>,
    /// Committed-local: ready to execute in order.
    pub(super) committed: bool,
}

/// Counts of dropped input, by reason.
pub type DropCounts = BTreeMap<Drop, u64>;

/// A PBFT replica.
pub struct Replica<A: Application> {
    pub(super) cfg: Config,
    pub(super) me: ReplicaIdx,
    pub(super) key: SecretKey,
    pub(super) app: A,
    pub(super) view: View,
    pub(super) mode: Mode,
    /// Consecutive view changes without progress: the timeout is base × 2^this.
    pub(super) vc_attempts: u32,
    /// The view-change target whose timer runs (it starts once 2f+1 asked for that view).
    pub(super) vc_armed: Option<View>,
    /// Highest sequence number this replica assigned as primary.
    pub(super) seq_assigned: Seq,
    pub(super) last_exec: Seq,
    pub(super) stable: CheckpointProof,
    pub(super) stable_snapshot: Vec<u8>,
    pub(super) slots: BTreeMap<Seq, Slot>,
    /// Checkpoint votes in the window: seq → sender → (state, message).
    pub(super) checkpoint_votes: BTreeMap<Seq, BTreeMap<ReplicaIdx, (Hash, Signed)>>,
    /// Own snapshots at checkpoint sequence numbers not yet stable.
    pub(super) own_snapshots: BTreeMap<Seq, (Hash, Vec<u8>)>,
    pub(super) pending: VecDeque<SignedRequest>,
    pub(super) pending_ids: BTreeSet<Hash>,
    /// Requests the primary put in a batch of the current view.
    pub(super) proposed: BTreeSet<Hash>,
    pub(super) clients: BTreeMap<[u8; 32], ClientEntry>,
    /// Each replica's latest view-change message (for a view above ours).
    pub(super) view_changes: BTreeMap<ReplicaIdx, Signed>,
    /// The new-view message of the current view, to retransmit.
    pub(super) new_view_msg: Option<Signed>,
    /// Peers already helped since the last status tick (bounds catch-up traffic).
    pub(super) helped: BTreeSet<ReplicaIdx>,
    pub(super) drops: DropCounts,
    pub(super) out: Vec<Action>,
}

impl<A: Application> Replica<A> {
    /// A replica in view 0 with `app` in its initial state (identical at every replica).
    pub fn new(cfg: Config, me: ReplicaIdx, key: SecretKey, app: A) -> Replica<A> {
        assert!(cfg.validate().is_ok(), "invalid PBFT configuration");
        assert_eq!(
            cfg.key(me),
            Some(&key.public()),
            "the key is replica {me:?}'s"
        );
        let mut r = Replica {
            cfg,
            me,
            key,
            app,
            view: View(0),
            mode: Mode::Active,
            vc_attempts: 0,
            vc_armed: None,
            seq_assigned: Seq(0),
            last_exec: Seq(0),
            stable: CheckpointProof::default(),
            stable_snapshot: Vec::new(),
            slots: BTreeMap::new(),
            checkpoint_votes: BTreeMap::new(),
            own_snapshots: BTreeMap::new(),
            pending: VecDeque::new(),
            pending_ids: BTreeSet::new(),
            proposed: BTreeSet::new(),
            clients: BTreeMap::new(),
            view_changes: BTreeMap::new(),
            new_view_msg: None,
            helped: BTreeSet::new(),
            drops: DropCounts::new(),
            out: Vec::new(),
        };
        r.stable_snapshot = r.snapshot();
        r.stable.state = Hash::of(&[&r.stable_snapshot]);
        r
    }

    /// The actions to perform when the replica starts (or restarts): arm the status timer.
    pub fn start(&mut self) -> Vec<Action> {
        self.set_timer(Timer::Status, self.cfg.status_interval_ms);
        self.broadcast_status();
        if self.mode == Mode::Changing {
            self.vc_armed = None;
            self.arm_if_quorum();
        } else if self.waiting() {
            self.arm_view_change_timer();
        }
        std::mem::take(&mut self.out)
    }

    /// Feeds one event and returns what to do, in order.
    pub fn on_event(&mut self, ev: Event) -> Vec<Action> {
        match ev {
            Event::Request(r) => self.on_request(r, None),
            Event::Message(m) => self.on_message(m),
            Event::Timer(Timer::Status) => self.on_status_timer(),
            Event::Timer(Timer::ViewChange) => self.on_view_change_timer(),
        }
        std::mem::take(&mut self.out)
    }

    fn on_message(&mut self, m: Signed) {
        if m.verify(&self.cfg).is_err() {
            return self.drop_input(Some(m.from), Drop::BadSignature);
        }
        if m.from == self.me {
            return self.drop_input(Some(m.from), Drop::Duplicate);
        }
        let from = m.from;
        match m.payload.clone() {
            Payload::Request(r) => self.on_request(*r, Some(from)),
            Payload::PrePrepare {
                view,
                seq,
                digest,
                batch,
            } => self.on_pre_prepare(m, view, seq, digest, batch),
            Payload::Prepare { view, seq, digest } => self.on_prepare(m, view, seq, digest),
            Payload::Commit { view, seq, digest } => self.on_commit(m, view, seq, digest),
            Payload::Checkpoint { seq, state } => self.on_checkpoint(m, seq, state),
            Payload::ViewChange(_) => self.on_view_change(m),
            Payload::NewView(_) => self.on_new_view(m),
            Payload::Status {
                view,
                active,
                last_exec,
                stable,
            } => self.on_status(from, view, active, last_exec, stable),
            Payload::Stable(proof) => self.on_stable_proof(Some(from), proof),
            Payload::Catchup(c) => self.on_catchup(from, *c),
        }
    }

    // ---- accessors for hosts and tests ----

    /// This replica's index.
    pub fn id(&self) -> ReplicaIdx {
        self.me
    }
    /// The current view.
    pub fn view(&self) -> View {
        self.view
    }
    /// Whether the view is active (not changing).
    pub fn is_active(&self) -> bool {
        self.mode == Mode::Active
    }
    /// The last executed sequence number.
    pub fn last_executed(&self) -> Seq {
        self.last_exec
    }
    /// The last stable checkpoint (the low watermark).
    pub fn stable_seq(&self) -> Seq {
        self.stable.seq
    }
    /// The application.
    pub fn app(&self) -> &A {
        &self.app
    }
    /// Dropped input by reason.
    pub fn drops(&self) -> &DropCounts {
        &self.drops
    }
    /// Requests waiting to be ordered.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }
    /// Sequence numbers held in the log (bounded by the window).
    pub fn log_len(&self) -> usize {
        self.slots.len()
    }
    /// The instance configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    // ---- helpers shared by the handlers ----

    pub(super) fn primary(&self) -> ReplicaIdx {
        self.cfg.primary(self.view)
    }

    pub(super) fn is_primary(&self) -> bool {
        self.primary() == self.me
    }

    /// The high watermark: sequence numbers above it are not accepted yet.
    pub(super) fn high(&self) -> Seq {
        Seq(self.stable.seq.0 + self.cfg.log_window)
    }

    pub(super) fn in_window(&self, seq: Seq) -> bool {
        seq > self.stable.seq && seq <= self.high()
    }

    pub(super) fn drop_input(&mut self, from: Option<ReplicaIdx>, reason: Drop) {
        *self.drops.entry(reason).or_default() += 1;
        self.out.push(Action::Dropped { from, reason });
    }

    pub(super) fn sign(&self, payload: Payload) -> Signed {
        Signed::sign(&self.key, &self.cfg.instance, self.me, payload)
    }

    pub(super) fn broadcast(&mut self, msg: Signed) {
        self.out.push(Action::Broadcast(msg));
    }

    pub(super) fn send(&mut self, to: ReplicaIdx, msg: Signed) {
        if to != self.me {
            self.out.push(Action::Send { to, msg });
        }
    }

    pub(super) fn persist(&mut self, r: Record) {
        self.out.push(Action::Persist(r));
    }

    pub(super) fn set_timer(&mut self, timer: Timer, after_ms: u64) {
        self.out.push(Action::SetTimer { timer, after_ms });
    }

    /// Whether the replica knows of work not yet executed.
    pub(super) fn waiting(&self) -> bool {
        !self.pending.is_empty()
            || self
                .slots
                .iter()
                .any(|(s, slot)| *s > self.last_exec && slot.pre_prepare.is_some())
    }

    pub(super) fn view_change_timeout(&self) -> u64 {
        let factor = 1u64 << self.vc_attempts.min(16);
        self.cfg.view_change_timeout_ms.saturating_mul(factor)
    }

    pub(super) fn arm_view_change_timer(&mut self) {
        self.set_timer(Timer::ViewChange, self.view_change_timeout());
    }

    /// The replica's snapshot: the application state and the client table.
    pub(super) fn snapshot(&self) -> Vec<u8> {
        let clients = self.clients.iter().map(|(k, e)| (*k, e.clone())).collect();
        encode(&Snapshot {
            app: self.app.snapshot(),
            clients,
        })
    }

    /// Restores a snapshot; on error nothing changed.
    pub(super) fn restore_snapshot(&mut self, bytes: &[u8]) -> Result<(), String> {
        let snap: Snapshot = decode(bytes, MESSAGE_BYTES_MAX).map_err(|e| e.to_string())?;
        self.app.restore(&snap.app)?;
        self.clients = snap.clients.into_iter().collect();
        Ok(())
    }

    /// Forgets pending requests that executed or whose timestamp is no longer above their
    /// client's last executed one (they can never execute), and rebuilds the id index.
    pub(super) fn forget_stale_pending(&mut self) {
        let clients = &self.clients;
        self.pending.retain(|r| {
            clients
                .get(r.request.client.as_bytes())
                .is_none_or(|e| r.request.timestamp > e.last_ts)
        });
        self.pending_ids = self.pending.iter().map(|r| r.digest()).collect();
    }

    /// Drops everything at or below the stable checkpoint (PBFT §4.3 garbage collection).
    pub(super) fn collect_garbage(&mut self) {
        let low = self.stable.seq;
        self.slots.retain(|s, _| *s > low);
        self.checkpoint_votes.retain(|s, _| *s > low);
        self.own_snapshots.retain(|s, _| *s > low);
    }
}
