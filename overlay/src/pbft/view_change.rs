//! View changes (PBFT §4.4): a replica that times out moves to the next view and sends a
//! view change carrying its stable checkpoint and its prepared certificates; the new primary
//! gathers 2f+1 of them and sends a new-view message whose pre-prepares re-propose, for every
//! sequence number in between, the batch prepared in the highest view (or a null batch).
//! Liveness measures (§4.5): timeouts double with each failed attempt, a view change's timer
//! starts only once 2f+1 replicas asked for its view, and a replica joins a view change once
//! f+1 others have asked for a higher view.

use crate::id::Hash;

use super::action::{Action, Drop, Record, Timer};
use super::app::Application;
use super::message::{NewView, Payload, PreparedProof, Signed, ViewChange};
use super::proof;
use super::replica::{Mode, Replica};
use super::types::{Batch, Seq, View};

impl<A: Application> Replica<A> {
    pub(super) fn on_view_change_timer(&mut self) {
        if self.mode != Mode::Changing && !self.waiting() {
            return;
        }
        // A view change that did not get a new view installed, or a new view that executed
        // nothing in time, is a failed attempt either way: the next one waits twice as long
        // (execution resets it). Counting only the first kind let views that install quickly
        // but commit slowly time out forever at the base timeout.
        self.vc_attempts = self.vc_attempts.saturating_add(1);
        self.start_view_change(self.view.next());
    }

    /// Moves to `target` and sends a view change for it.
    pub(super) fn start_view_change(&mut self, target: View) {
        assert!(target > self.view || (target == self.view && self.mode == Mode::Active));
        self.view = target;
        self.mode = Mode::Changing;
        self.proposed.clear();
        let prepared: Vec<PreparedProof> = self
            .slots
            .iter()
            .filter(|(s, _)| **s > self.stable.seq)
            .filter_map(|(_, slot)| slot.prepared.clone())
            .collect();
        let vc = ViewChange {
            new_view: target,
            stable: self.stable.clone(),
            prepared,
        };
        let msg = self.sign(Payload::ViewChange(Box::new(vc)));
        self.persist(Record::View {
            view: target,
            active: false,
        });
        self.persist(Record::Sent(msg.clone()));
        self.view_changes.insert(self.me, msg.clone());
        self.broadcast(msg);
        // A timer left from the old view must not move us on before the others join.
        self.out.push(Action::CancelTimer(Timer::ViewChange));
        self.arm_if_quorum();
        self.try_new_view();
    }

    /// §4.5.2: the timer of a view change starts only once 2f+1 replicas asked for its view
    /// or a later one. A replica that timed out alone, or came back from a crash with its
    /// timeouts reset, then waits for the others instead of running ahead of them one view at
    /// a time, where no view would ever gather 2f+1. Counting later views too lets replicas
    /// that fell one view behind (the leader's request for their view lost) follow it.
    pub(super) fn arm_if_quorum(&mut self) {
        let asked = self
            .view_changes
            .values()
            .filter(|m| matches!(&m.payload, Payload::ViewChange(vc) if vc.new_view >= self.view))
            .count();
        if self.mode == Mode::Changing
            && self.vc_armed != Some(self.view)
            && asked >= self.cfg.quorum()
        {
            self.vc_armed = Some(self.view);
            self.arm_view_change_timer();
        }
    }

    pub(super) fn on_view_change(&mut self, m: Signed) {
        let Some(vc) = proof::view_change(&self.cfg, &m) else {
            return self.drop_input(Some(m.from), Drop::BadProof);
        };
        let target = vc.new_view;
        let from = m.from;
        if target < self.view || (target == self.view && self.mode == Mode::Active) {
            // The sender is behind: show it the view we are in.
            if self.mode == Mode::Active
                && let Some(nv) = self.new_view_msg.clone()
            {
                self.send(from, nv);
            }
            return self.drop_input(Some(from), Drop::Stale);
        }
        let newer = self
            .view_changes
            .get(&from)
            .is_none_or(|old| match &old.payload {
                Payload::ViewChange(o) => o.new_view < target,
                _ => true,
            });
        if !newer {
            return self.drop_input(Some(from), Drop::Duplicate);
        }
        self.view_changes.insert(from, m);
        self.maybe_join();
        self.arm_if_quorum();
        self.try_new_view();
    }

    /// §4.5.2: f+1 replicas asking for views above ours mean at least one correct replica
    /// timed out; join the smallest such view.
    fn maybe_join(&mut self) {
        let mut above: Vec<View> = self
            .view_changes
            .iter()
            .filter(|(from, _)| **from != self.me)
            .filter_map(|(_, m)| match &m.payload {
                Payload::ViewChange(vc) if vc.new_view > self.view => Some(vc.new_view),
                _ => None,
            })
            .collect();
        if above.len() > self.cfg.f {
            above.sort();
            self.start_view_change(above[0]);
        }
    }

    /// The view changes for the current (target) view, ours first then by sender.
    fn view_changes_for_current(&self) -> Vec<Signed> {
        self.view_changes
            .values()
            .filter(|m| matches!(&m.payload, Payload::ViewChange(vc) if vc.new_view == self.view))
            .cloned()
            .collect()
    }

    /// As the new primary with 2f+1 view changes: send the new-view message and enter it.
    fn try_new_view(&mut self) {
        if self.mode != Mode::Changing || !self.is_primary() {
            return;
        }
        let mut vcs = self.view_changes_for_current();
        if vcs.len() < self.cfg.quorum() {
            return;
        }
        vcs.sort_by_key(|m| (m.from != self.me, m.from));
        vcs.truncate(self.cfg.quorum());
        let contents: Vec<&ViewChange> = vcs.iter().filter_map(as_view_change).collect();
        let (min_s, batches) = proof::new_view_batches(&contents);
        let view = self.view;
        let pre_prepares: Vec<Signed> = batches
            .into_iter()
            .map(|(seq, batch)| {
                let digest = batch.digest();
                self.sign(Payload::PrePrepare {
                    view,
                    seq,
                    digest,
                    batch,
                })
            })
            .collect();
        let nv = NewView {
            view,
            view_changes: vcs,
            pre_prepares,
        };
        let msg = self.sign(Payload::NewView(Box::new(nv)));
        self.broadcast(msg.clone());
        self.enter_new_view(msg, min_s);
    }

    pub(super) fn on_new_view(&mut self, m: Signed) {
        let Payload::NewView(nv) = &m.payload else {
            return;
        };
        if m.from != self.cfg.primary(nv.view) {
            return self.drop_input(Some(m.from), Drop::NotPrimary);
        }
        if nv.view < self.view || (nv.view == self.view && self.mode == Mode::Active) {
            return self.drop_input(Some(m.from), Drop::Stale);
        }
        let Some(min_s) = self.check_new_view(nv) else {
            return self.drop_input(Some(m.from), Drop::BadProof);
        };
        self.enter_new_view(m, min_s);
    }

    /// Checks a new-view message: 2f+1 valid view changes for its view from distinct
    /// replicas, and exactly the pre-prepares they imply. Returns min-s.
    fn check_new_view(&self, nv: &NewView) -> Option<Seq> {
        let mut senders = std::collections::BTreeSet::new();
        let mut contents = Vec::new();
        for m in &nv.view_changes {
            m.verify(&self.cfg).ok()?;
            let vc = proof::view_change(&self.cfg, m)?;
            if vc.new_view != nv.view || !senders.insert(m.from) {
                return None;
            }
            contents.push(vc);
        }
        if contents.len() < self.cfg.quorum() {
            return None;
        }
        let (min_s, batches) = proof::new_view_batches(&contents);
        if batches.len() != nv.pre_prepares.len() {
            return None;
        }
        for ((seq, batch), m) in batches.iter().zip(&nv.pre_prepares) {
            let pp = proof::pre_prepare(&self.cfg, m)?;
            if pp.view != nv.view || pp.seq != *seq || pp.digest != batch.digest() {
                return None;
            }
        }
        Some(min_s)
    }

    /// Enters the view of a checked new-view message `m` (sent or received).
    fn enter_new_view(&mut self, m: Signed, min_s: Seq) {
        let Payload::NewView(nv) = &m.payload else {
            return;
        };
        let nv = nv.clone();
        self.view = nv.view;
        self.mode = Mode::Active;
        self.persist(Record::View {
            view: self.view,
            active: true,
        });
        self.persist(Record::Accepted(m.clone()));
        self.new_view_msg = Some(m);
        let view = self.view;
        self.view_changes
            .retain(|_, vc| matches!(&vc.payload, Payload::ViewChange(c) if c.new_view > view));
        self.proposed.clear();
        // Pre-prepares of older views above what was executed are superseded.
        let last_exec = self.last_exec;
        for (s, slot) in self.slots.iter_mut() {
            if *s > last_exec {
                slot.pre_prepare = None;
                slot.committed = false;
            }
        }
        let mut max_s = min_s;
        for pp in &nv.pre_prepares {
            let Payload::PrePrepare {
                seq, digest, batch, ..
            } = &pp.payload
            else {
                continue;
            };
            max_s = max_s.max(*seq);
            batch.0.iter().for_each(|r| {
                self.proposed.insert(r.digest());
            });
            if self.in_window(*seq) {
                self.accept_new_view_entry(pp.clone(), *seq, *digest, batch.clone());
            }
        }
        self.seq_assigned = max_s.max(self.last_exec);
        self.out.push(Action::NewView(view));
        // Adopt the highest stable checkpoint the view changes prove (or fetch its state).
        let best = nv
            .view_changes
            .iter()
            .filter_map(as_view_change)
            .map(|vc| &vc.stable)
            .max_by_key(|p| p.seq);
        if let Some(p) = best.filter(|p| p.seq > self.stable.seq).cloned() {
            self.on_stable_proof(None, p);
        }
        if self.waiting() {
            self.arm_view_change_timer();
        } else {
            self.out.push(Action::CancelTimer(Timer::ViewChange));
        }
        self.try_propose();
    }

    fn accept_new_view_entry(&mut self, pp: Signed, seq: Seq, digest: Hash, batch: Batch) {
        let view = self.view;
        self.accept_pre_prepare(pp, view, seq, digest, batch);
        self.check_committed(seq);
    }
}

fn as_view_change(m: &Signed) -> Option<&ViewChange> {
    match &m.payload {
        Payload::ViewChange(vc) => Some(vc),
        _ => None,
    }
}
