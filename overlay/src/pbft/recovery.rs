//! Rebuilding a replica after a crash from the records it persisted: the last stable
//! checkpoint, then the view it was in and everything it accepted or said above it, so that
//! it never contradicts its earlier messages. Batches committed above the checkpoint are
//! fetched again from peers through status and catch-up.

use super::action::Record;
use super::app::Application;
use super::config::Config;
use super::message::Payload;
use super::replica::{Mode, Replica};
use super::types::ReplicaIdx;
use crate::crypto::SecretKey;

impl<A: Application> Replica<A> {
    /// A replica rebuilt from `records` (oldest first); `app` must be in its initial state.
    pub fn recover(
        cfg: Config,
        me: ReplicaIdx,
        key: SecretKey,
        app: A,
        records: &[Record],
    ) -> Replica<A> {
        let mut r = Replica::new(cfg, me, key, app);
        let start = records
            .iter()
            .rposition(|x| matches!(x, Record::Stable { .. }));
        if let Some(Record::Stable { proof, snapshot }) = start.map(|i| &records[i])
            && r.restore_snapshot(snapshot).is_ok()
        {
            r.last_exec = proof.seq;
            r.seq_assigned = proof.seq;
            r.stable = proof.clone();
            r.stable_snapshot = snapshot.clone();
        }
        for rec in &records[start.map_or(0, |i| i + 1)..] {
            r.replay(rec);
        }
        r.out.clear();
        r
    }

    fn replay(&mut self, rec: &Record) {
        match rec {
            Record::View { view, active } => {
                self.view = *view;
                self.mode = if *active {
                    Mode::Active
                } else {
                    Mode::Changing
                };
            }
            Record::Accepted(m) => match &m.payload {
                Payload::PrePrepare {
                    view,
                    seq,
                    digest,
                    batch,
                } if *seq > self.stable.seq => {
                    let slot = self.slots.entry(*seq).or_default();
                    slot.pre_prepare = Some((*view, *digest, batch.clone(), m.clone()));
                    if m.from == self.me {
                        self.seq_assigned = self.seq_assigned.max(*seq);
                    }
                }
                Payload::NewView(_) => self.new_view_msg = Some(m.clone()),
                _ => {}
            },
            Record::Sent(m) => match &m.payload {
                Payload::Prepare { seq, .. } if *seq > self.stable.seq => {
                    self.record_vote(*seq, m.clone(), true);
                }
                Payload::Commit { view, seq, .. } if *seq > self.stable.seq => {
                    self.record_vote(*seq, m.clone(), false);
                    self.slots.entry(*seq).or_default().committed_in = Some(*view);
                }
                Payload::ViewChange(_) => {
                    self.view_changes.insert(self.me, m.clone());
                }
                _ => {}
            },
            Record::Prepared(p) => {
                if let Payload::PrePrepare { seq, .. } = &p.pre_prepare.payload
                    && *seq > self.stable.seq
                {
                    self.slots.entry(*seq).or_default().prepared = Some(p.clone());
                }
            }
            Record::Stable { .. } => {}
        }
    }
}
