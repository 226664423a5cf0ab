//! Normal-case operation (PBFT §4.2): requests, pre-prepare, prepare, commit, and execution
//! in sequence-number order with at-most-once semantics per client (§4.1).

use crate::id::Hash;

use super::action::{Action, Drop, Record, Timer};
use super::app::Application;
use super::config::OP_BYTES_MAX;
use super::message::{Payload, PreparedProof, Signed};
use super::replica::{ClientEntry, Mode, PENDING_PER_CLIENT_MAX, Replica, Vote};
use super::types::{Batch, ReplicaIdx, Reply, Seq, SignedReply, SignedRequest, View};

impl<A: Application> Replica<A> {
    /// A request from a client, or relayed by replica `via`.
    pub(super) fn on_request(&mut self, r: SignedRequest, via: Option<ReplicaIdx>) {
        if r.request.op.len() > OP_BYTES_MAX {
            return self.drop_input(via, Drop::Malformed);
        }
        if r.request.instance != self.cfg.instance {
            return self.drop_input(via, Drop::WrongInstance);
        }
        if !self.app.admits(&r.request.client) {
            return self.drop_input(via, Drop::NotAdmitted);
        }
        if r.verify().is_err() {
            return self.drop_input(via, Drop::BadSignature);
        }
        if let Some(e) = self.clients.get(r.request.client.as_bytes())
            && r.request.timestamp <= e.last_ts
        {
            // §4.1: a retransmitted request gets the cached reply again.
            if r.request.timestamp == e.last_ts && via.is_none() {
                let reply = self.reply_for(&r.request.client, e.clone());
                self.out.push(Action::Reply(reply));
            }
            return self.drop_input(via, Drop::Duplicate);
        }
        let known = self.pending_ids.contains(&r.digest());
        if known && via.is_none() && !self.is_primary() {
            // §4.1: a client retransmits to every replica when the primary seems not to have
            // ordered its request; a backup that sees the request again relays it to the
            // primary. (The first copy is not relayed: clients send it to all replicas.)
            let msg = self.sign(Payload::Request(Box::new(r)));
            self.send(self.primary(), msg);
            return self.drop_input(via, Drop::Duplicate);
        }
        if !self.add_pending(r.clone(), via) {
            return;
        }
        if self.is_primary() && self.mode == Mode::Active {
            self.try_propose();
        }
        if self.mode == Mode::Active && self.pending.len() == 1 {
            self.arm_view_change_timer();
        }
    }

    /// Queues a request; false (with a drop recorded) if it is known or a bound is hit.
    fn add_pending(&mut self, r: SignedRequest, via: Option<ReplicaIdx>) -> bool {
        let id = r.digest();
        if self.pending_ids.contains(&id) {
            self.drop_input(via, Drop::Duplicate);
            return false;
        }
        let same_client = self
            .pending
            .iter()
            .filter(|p| p.request.client == r.request.client)
            .count();
        if self.pending.len() >= self.cfg.pending_max || same_client >= PENDING_PER_CLIENT_MAX {
            self.drop_input(via, Drop::Full);
            return false;
        }
        self.pending_ids.insert(id);
        self.pending.push_back(r);
        true
    }

    /// The primary orders pending requests while the pipeline and the window have room.
    pub(super) fn try_propose(&mut self) {
        while self.is_primary() && self.mode == Mode::Active {
            let next = self.seq_assigned.next().max(self.last_exec.next());
            let in_flight = next.0.saturating_sub(self.last_exec.0 + 1);
            if in_flight >= self.cfg.pipeline_max || !self.in_window(next) {
                return;
            }
            let batch: Vec<SignedRequest> = self
                .pending
                .iter()
                .filter(|r| !self.proposed.contains(&r.digest()))
                .take(self.cfg.batch_max)
                .cloned()
                .collect();
            if batch.is_empty() {
                return;
            }
            for r in &batch {
                self.proposed.insert(r.digest());
            }
            let batch = Batch(batch);
            let digest = batch.digest();
            let msg = self.sign(Payload::PrePrepare {
                view: self.view,
                seq: next,
                digest,
                batch: batch.clone(),
            });
            self.seq_assigned = next;
            self.persist(Record::Accepted(msg.clone()));
            self.slots.entry(next).or_default().pre_prepare =
                Some((self.view, digest, batch, msg.clone()));
            self.broadcast(msg);
            self.check_prepared(next);
        }
    }

    /// A pre-prepare from the primary (§4.2): accept it if it is for this view, inside the
    /// watermarks, well formed, and no other was accepted for (view, seq).
    pub(super) fn on_pre_prepare(
        &mut self,
        m: Signed,
        view: View,
        seq: Seq,
        digest: Hash,
        batch: Batch,
    ) {
        if view != self.view || self.mode != Mode::Active {
            return self.drop_input(Some(m.from), Drop::WrongView);
        }
        if m.from != self.primary() {
            return self.drop_input(Some(m.from), Drop::NotPrimary);
        }
        if !self.in_window(seq) {
            return self.drop_input(Some(m.from), Drop::OutOfWindow);
        }
        if batch.0.len() > self.cfg.batch_max || batch.digest() != digest {
            return self.drop_input(Some(m.from), Drop::Malformed);
        }
        if let Some((v, d, _, held)) = &self.slots.get(&seq).and_then(|s| s.pre_prepare.as_ref())
            && *v == view
        {
            let reason = if *d == digest {
                Drop::Duplicate
            } else {
                self.out.push(Action::Equivocation {
                    a: Box::new(held.clone()),
                    b: Box::new(m.clone()),
                });
                Drop::Conflicting
            };
            return self.drop_input(Some(m.from), reason);
        }
        let bad_request = batch.0.iter().any(|r| {
            r.request.op.len() > OP_BYTES_MAX
                || r.request.instance != self.cfg.instance
                || !self.app.admits(&r.request.client)
                || r.verify().is_err()
        });
        if bad_request {
            return self.drop_input(Some(m.from), Drop::BadProof);
        }
        self.accept_pre_prepare(m, view, seq, digest, batch);
    }

    /// Records an accepted pre-prepare (also those of a new-view message) and, as a backup,
    /// sends the prepare.
    pub(super) fn accept_pre_prepare(
        &mut self,
        m: Signed,
        view: View,
        seq: Seq,
        digest: Hash,
        batch: Batch,
    ) {
        let was_waiting = self.waiting();
        self.persist(Record::Accepted(m.clone()));
        self.slots.entry(seq).or_default().pre_prepare = Some((view, digest, batch, m));
        if self.primary() != self.me {
            let prepare = self.sign(Payload::Prepare { view, seq, digest });
            self.persist(Record::Sent(prepare.clone()));
            self.record_vote(seq, prepare.clone(), true);
            self.broadcast(prepare);
        }
        if !was_waiting && self.mode == Mode::Active {
            self.arm_view_change_timer();
        }
        self.check_prepared(seq);
    }

    /// Prepares and commits count only in the current view and inside the watermarks.
    fn vote_in_scope(&mut self, m: &Signed, view: View, seq: Seq) -> bool {
        let reason = if view != self.view {
            Drop::WrongView
        } else if !self.in_window(seq) {
            Drop::OutOfWindow
        } else {
            return true;
        };
        self.drop_input(Some(m.from), reason);
        false
    }

    pub(super) fn on_prepare(&mut self, m: Signed, view: View, seq: Seq, _digest: Hash) {
        if !self.vote_in_scope(&m, view, seq) {
            return;
        }
        if m.from == self.cfg.primary(view) {
            return self.drop_input(Some(m.from), Drop::NotPrimary);
        }
        if self.record_vote(seq, m, true) {
            self.check_prepared(seq);
        }
    }

    pub(super) fn on_commit(&mut self, m: Signed, view: View, seq: Seq, _digest: Hash) {
        if self.vote_in_scope(&m, view, seq) && self.record_vote(seq, m, false) {
            self.check_committed(seq);
        }
    }

    /// Stores a prepare or commit, one per sender (a newer view replaces an older one).
    /// Returns whether it was new.
    pub(super) fn record_vote(&mut self, seq: Seq, m: Signed, prepare: bool) -> bool {
        let (view, digest) = match &m.payload {
            Payload::Prepare { view, digest, .. } | Payload::Commit { view, digest, .. } => {
                (*view, *digest)
            }
            _ => return false,
        };
        let from = m.from;
        let slot = self.slots.entry(seq).or_default();
        let votes = if prepare {
            &mut slot.prepares
        } else {
            &mut slot.commits
        };
        let verdict = match votes.get(&from) {
            Some(v) if v.view > view => Some(Drop::Stale),
            Some(v) if v.view == view && v.digest == digest => Some(Drop::Duplicate),
            Some(v) if v.view == view => {
                self.out.push(Action::Equivocation {
                    a: Box::new(v.msg.clone()),
                    b: Box::new(m.clone()),
                });
                Some(Drop::Conflicting)
            }
            _ => None,
        };
        if let Some(reason) = verdict {
            self.drop_input(Some(from), reason);
            return false;
        }
        votes.insert(
            from,
            Vote {
                view,
                digest,
                msg: m,
            },
        );
        true
    }

    /// prepared(m, v, n, i) (§4.2): the pre-prepare and 2f matching prepares from backups.
    pub(super) fn check_prepared(&mut self, seq: Seq) {
        let Some(slot) = self.slots.get(&seq) else {
            return;
        };
        let Some((view, digest, _, pp)) = &slot.pre_prepare else {
            return;
        };
        let (view, digest) = (*view, *digest);
        if view != self.view || slot.committed_in == Some(view) {
            return;
        }
        let primary = self.cfg.primary(view);
        let prepares: Vec<Signed> = slot
            .prepares
            .iter()
            .filter(|(from, v)| **from != primary && v.view == view && v.digest == digest)
            .map(|(_, v)| v.msg.clone())
            .collect();
        if prepares.len() < 2 * self.cfg.f {
            return;
        }
        let proof = PreparedProof {
            pre_prepare: pp.clone(),
            prepares,
        };
        self.persist(Record::Prepared(proof.clone()));
        let commit = self.sign(Payload::Commit { view, seq, digest });
        self.persist(Record::Sent(commit.clone()));
        if let Some(slot) = self.slots.get_mut(&seq) {
            slot.prepared = Some(proof);
            slot.committed_in = Some(view);
        }
        self.record_vote(seq, commit.clone(), false);
        self.broadcast(commit);
        self.check_committed(seq);
    }

    /// committed-local(m, v, n, i) (§4.2): prepared and 2f+1 matching commits.
    pub(super) fn check_committed(&mut self, seq: Seq) {
        let Some(slot) = self.slots.get(&seq) else {
            return;
        };
        let Some((view, digest, _, _)) = &slot.pre_prepare else {
            return;
        };
        if slot.committed || slot.committed_in != Some(*view) {
            return;
        }
        let n = slot
            .commits
            .values()
            .filter(|v| v.view == *view && v.digest == *digest)
            .count();
        if n < self.cfg.quorum() {
            return;
        }
        if let Some(slot) = self.slots.get_mut(&seq) {
            slot.committed = true;
        }
        self.try_execute();
    }

    /// Executes committed batches in sequence-number order.
    pub(super) fn try_execute(&mut self) {
        let mut progressed = false;
        loop {
            let next = self.last_exec.next();
            let Some(slot) = self.slots.get(&next) else {
                break;
            };
            if !slot.committed {
                break;
            }
            let Some((_, digest, batch, _)) = slot.pre_prepare.clone() else {
                break;
            };
            self.execute_batch(next, digest, &batch);
            progressed = true;
        }
        if progressed {
            self.vc_attempts = 0;
            // While changing views the timer is the view change's own (catch-up can execute
            // then): cancelling it would leave the replica waiting forever (seed 7960).
            if self.mode == Mode::Active {
                if self.waiting() {
                    self.arm_view_change_timer();
                } else {
                    self.out.push(Action::CancelTimer(Timer::ViewChange));
                }
            }
            self.try_propose();
        }
    }

    /// Executes one batch, skipping requests already executed (§4.1), and checkpoints.
    pub(super) fn execute_batch(&mut self, seq: Seq, digest: Hash, batch: &Batch) {
        assert_eq!(seq, self.last_exec.next(), "batches execute in order");
        let mut executed = 0;
        for r in &batch.0 {
            let id = r.digest();
            self.pending_ids.remove(&id);
            self.proposed.remove(&id);
            let client = r.request.client;
            if self
                .clients
                .get(client.as_bytes())
                .is_some_and(|e| r.request.timestamp <= e.last_ts)
            {
                continue;
            }
            if !self.app.admits(&client) {
                continue;
            }
            let result = self.app.execute(&client, &r.request.op);
            let entry = ClientEntry {
                last_ts: r.request.timestamp,
                last_result: result,
            };
            self.clients.insert(client.to_bytes(), entry.clone());
            let reply = self.reply_for(&client, entry);
            self.out.push(Action::Reply(reply));
            executed += 1;
        }
        // Everything in the batch is done with, executed or not (a client the application
        // stopped admitting); then whatever can no longer execute.
        let pending_ids = &self.pending_ids;
        self.pending.retain(|r| pending_ids.contains(&r.digest()));
        self.forget_stale_pending();
        self.last_exec = seq;
        self.out.push(Action::Executed {
            seq,
            digest,
            executed,
        });
        if seq.0.is_multiple_of(self.cfg.checkpoint_interval) {
            self.take_checkpoint(seq);
        }
    }

    pub(super) fn reply_for(
        &self,
        client: &crate::crypto::PublicKey,
        e: ClientEntry,
    ) -> SignedReply {
        // The view is a hint of who leads now, for the client's next request.
        let reply = Reply {
            view: self.view,
            timestamp: e.last_ts,
            client: *client,
            replica: self.me,
            result: e.last_result,
        };
        SignedReply::sign(&self.key, reply)
    }
}
