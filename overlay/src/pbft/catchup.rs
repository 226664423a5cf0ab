//! Status messages and catch-up. PBFT's implementation (TOCS 2002 §5.2, §6.2) retransmits
//! on status messages and transfers state to replicas that fell behind; we do the same in a
//! simple form. Every status tick a replica broadcasts where it stands; a peer that is ahead
//! answers (at most once per tick per peer) with what the laggard misses: the new-view message
//! of its view, its own view change, its own votes for batches in flight, or a stable
//! checkpoint with its snapshot plus the commit certificates of batches above it.

use super::action::{Action, Drop, Record, Timer};
use super::app::Application;
use super::message::{Catchup, CheckpointProof, CommitProof, Payload, Signed};
use super::proof;
use super::replica::{Mode, Replica, Vote};
use super::types::{ReplicaIdx, Seq, View};

impl<A: Application> Replica<A> {
    pub(super) fn on_status_timer(&mut self) {
        self.helped.clear();
        self.broadcast_status();
        self.set_timer(Timer::Status, self.cfg.status_interval_ms);
    }

    pub(super) fn broadcast_status(&mut self) {
        let msg = self.status_msg();
        self.broadcast(msg);
    }

    fn status_msg(&self) -> Signed {
        self.sign(Payload::Status {
            view: self.view,
            active: self.mode == Mode::Active,
            last_exec: self.last_exec,
            stable: self.stable.seq,
        })
    }

    /// Asks `helpers` for what we miss, by showing them where we stand.
    pub(super) fn request_catchup(&mut self, helpers: &[ReplicaIdx]) {
        let msg = self.status_msg();
        for h in helpers {
            self.send(*h, msg.clone());
        }
    }

    pub(super) fn on_status(
        &mut self,
        from: ReplicaIdx,
        view: View,
        active: bool,
        last_exec: Seq,
        stable: Seq,
    ) {
        if !self.helped.insert(from) {
            return self.drop_input(Some(from), Drop::Duplicate);
        }
        if last_exec < self.last_exec {
            self.serve_catchup(from, last_exec);
        } else if stable < self.stable.seq {
            let msg = self.sign(Payload::Stable(self.stable.clone()));
            self.send(from, msg);
        }
        // Our own checkpoint votes above both stable points: lost before GST, they would never
        // be sent again, and a checkpoint no one got 2f+1 votes for never becomes stable, so
        // the window fills and ordering stops (simulation seed 533).
        let floor = stable.max(self.stable.seq);
        let mine: Vec<Signed> = self
            .checkpoint_votes
            .range(floor.next()..)
            .filter_map(|(_, votes)| votes.get(&self.me).map(|(_, m)| m.clone()))
            .collect();
        for m in mine {
            self.send(from, m);
        }
        let behind_view = view < self.view || (view == self.view && !active);
        match self.mode {
            Mode::Active if behind_view => {
                if let Some(nv) = self.new_view_msg.clone() {
                    self.send(from, nv);
                }
            }
            Mode::Changing if view <= self.view => {
                if let Some(vc) = self.view_changes.get(&self.me).cloned() {
                    self.send(from, vc);
                }
            }
            Mode::Active if view == self.view && active => self.retransmit_votes(from, last_exec),
            _ => {}
        }
    }

    /// Resends our own pre-prepares, prepares and commits for batches above `their_exec`.
    fn retransmit_votes(&mut self, to: ReplicaIdx, their_exec: Seq) {
        let mut msgs = Vec::new();
        for (s, slot) in self.slots.range(their_exec.next()..) {
            if *s <= self.stable.seq {
                continue;
            }
            if let Some((v, _, _, pp)) = &slot.pre_prepare
                && *v == self.view
                && pp.from == self.me
            {
                msgs.push(pp.clone());
            }
            for votes in [&slot.prepares, &slot.commits] {
                if let Some(Vote { view, msg, .. }) = votes.get(&self.me)
                    && *view == self.view
                {
                    msgs.push(msg.clone());
                }
            }
        }
        for m in msgs {
            self.send(to, m);
        }
    }

    /// Sends a laggard the stable checkpoint (if it is behind it) and commit certificates.
    fn serve_catchup(&mut self, to: ReplicaIdx, their_exec: Seq) {
        let checkpoint = (their_exec < self.stable.seq)
            .then(|| (self.stable.clone(), self.stable_snapshot.clone()));
        let from = their_exec.max(self.stable.seq);
        let mut committed = Vec::new();
        for s in from.0 + 1..=self.last_exec.0 {
            match self.commit_proof(Seq(s)) {
                Some(p) => committed.push(p),
                None => break,
            }
        }
        if checkpoint.is_none() && committed.is_empty() {
            return;
        }
        let msg = self.sign(Payload::Catchup(Box::new(Catchup {
            checkpoint,
            committed,
        })));
        self.send(to, msg);
    }

    fn commit_proof(&self, seq: Seq) -> Option<CommitProof> {
        let slot = self.slots.get(&seq)?;
        let (view, digest, _, pp) = slot.pre_prepare.as_ref()?;
        let commits: Vec<Signed> = slot
            .commits
            .values()
            .filter(|v| v.view == *view && v.digest == *digest)
            .map(|v| v.msg.clone())
            .take(self.cfg.quorum())
            .collect();
        (commits.len() >= self.cfg.quorum()).then(|| CommitProof {
            pre_prepare: pp.clone(),
            commits,
        })
    }

    pub(super) fn on_catchup(&mut self, from: ReplicaIdx, c: Catchup) {
        if let Some((proof, snapshot)) = c.checkpoint
            && proof.seq > self.last_exec
            && !self.install_checkpoint(proof, snapshot)
        {
            return self.drop_input(Some(from), Drop::BadProof);
        }
        for p in c.committed {
            let Some((seq, batch)) = proof::committed(&self.cfg, &p) else {
                return self.drop_input(Some(from), Drop::BadProof);
            };
            if seq <= self.last_exec {
                continue;
            }
            if seq != self.last_exec.next() || !self.in_window(seq) {
                break;
            }
            let Payload::PrePrepare { view, digest, .. } = &p.pre_prepare.payload else {
                break;
            };
            let (view, digest, batch) = (*view, *digest, batch.clone());
            let slot = self.slots.entry(seq).or_default();
            slot.pre_prepare = Some((view, digest, batch, p.pre_prepare.clone()));
            for m in p.commits {
                slot.commits.insert(
                    m.from,
                    Vote {
                        view,
                        digest,
                        msg: m,
                    },
                );
            }
            slot.committed = true;
            self.try_execute();
        }
    }

    /// Checks a checkpoint proof and its snapshot and jumps to it. False if it does not check.
    fn install_checkpoint(&mut self, proof: CheckpointProof, snapshot: Vec<u8>) -> bool {
        let digest_ok = crate::id::Hash::of(&[&snapshot]) == proof.state;
        if proof.seq == Seq(0) || !digest_ok || !proof::checkpoint(&self.cfg, &proof) {
            return false;
        }
        if self.restore_snapshot(&snapshot).is_err() {
            return false;
        }
        let seq = proof.seq;
        self.persist(Record::Stable {
            proof: proof.clone(),
            snapshot: snapshot.clone(),
        });
        self.stable = proof;
        self.stable_snapshot = snapshot;
        self.last_exec = seq;
        self.seq_assigned = self.seq_assigned.max(seq);
        self.collect_garbage();
        self.forget_stale_pending();
        self.out.push(Action::Restored { seq });
        true
    }
}
