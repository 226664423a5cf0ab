//! Checkpoints and garbage collection (PBFT §4.3): every K sequence numbers each replica
//! signs the digest of its state; 2f+1 matching signatures make the checkpoint stable, move
//! the low watermark, and free the log below it.

use crate::id::Hash;

use super::action::{Drop, Record};
use super::app::Application;
use super::message::{CheckpointProof, Payload, Signed};
use super::replica::Replica;
use super::types::{ReplicaIdx, Seq};

impl<A: Application> Replica<A> {
    /// After executing `seq` (a multiple of K): snapshot, sign and broadcast the digest.
    pub(super) fn take_checkpoint(&mut self, seq: Seq) {
        let snapshot = self.snapshot();
        let state = Hash::of(&[&snapshot]);
        self.own_snapshots.insert(seq, (state, snapshot));
        let msg = self.sign(Payload::Checkpoint { seq, state });
        self.persist(Record::Sent(msg.clone()));
        self.checkpoint_votes
            .entry(seq)
            .or_default()
            .insert(self.me, (state, msg.clone()));
        self.broadcast(msg);
        self.check_stable(seq);
    }

    pub(super) fn on_checkpoint(&mut self, m: Signed, seq: Seq, state: Hash) {
        if seq <= self.stable.seq {
            return self.drop_input(Some(m.from), Drop::Stale);
        }
        if !seq.0.is_multiple_of(self.cfg.checkpoint_interval) {
            return self.drop_input(Some(m.from), Drop::Malformed);
        }
        // Votes beyond the window are kept too (bounded: one window more), since f+1 of them
        // tell a replica that it fell behind.
        if seq.0 > self.stable.seq.0 + 2 * self.cfg.log_window {
            return self.drop_input(Some(m.from), Drop::OutOfWindow);
        }
        let from = m.from;
        let votes = self.checkpoint_votes.entry(seq).or_default();
        if votes.contains_key(&from) {
            return self.drop_input(Some(from), Drop::Duplicate);
        }
        votes.insert(from, (state, m));
        self.check_stable(seq);
    }

    /// Makes `seq` stable if 2f+1 replicas agree on its state. If they agree and this replica
    /// has not got there (or got a different state), it fetches the state from them.
    fn check_stable(&mut self, seq: Seq) {
        let Some(votes) = self.checkpoint_votes.get(&seq) else {
            return;
        };
        let mut tally: std::collections::BTreeMap<Hash, Vec<Signed>> = Default::default();
        for (state, m) in votes.values() {
            tally.entry(*state).or_default().push(m.clone());
        }
        let Some((state, proof)) = tally
            .into_iter()
            .find(|(_, v)| v.len() >= self.cfg.quorum())
        else {
            return;
        };
        match self.own_snapshots.get(&seq) {
            Some((own, snapshot)) if *own == state => {
                let snapshot = snapshot.clone();
                self.make_stable(
                    CheckpointProof {
                        seq,
                        state,
                        votes: proof,
                    },
                    snapshot,
                );
            }
            _ => {
                let helpers: Vec<_> = proof.iter().map(|m| m.from).collect();
                self.request_catchup(&helpers);
            }
        }
    }

    /// A stable checkpoint's proof from a peer (or from a view change): adopt it if we hold
    /// the matching snapshot; fetch the state if we are behind it.
    pub(super) fn on_stable_proof(&mut self, from: Option<ReplicaIdx>, proof: CheckpointProof) {
        if proof.seq <= self.stable.seq {
            return self.drop_input(from, Drop::Stale);
        }
        if !super::proof::checkpoint(&self.cfg, &proof) {
            return self.drop_input(from, Drop::BadProof);
        }
        match self.own_snapshots.get(&proof.seq) {
            Some((own, snapshot)) if *own == proof.state => {
                let snapshot = snapshot.clone();
                self.make_stable(proof, snapshot);
            }
            _ if proof.seq > self.last_exec => {
                let helpers: Vec<_> = proof.votes.iter().map(|m| m.from).collect();
                self.request_catchup(&helpers);
            }
            _ => {}
        }
    }

    /// Installs a stable checkpoint whose snapshot this replica holds.
    pub(super) fn make_stable(&mut self, proof: CheckpointProof, snapshot: Vec<u8>) {
        if proof.seq <= self.stable.seq {
            return;
        }
        self.persist(Record::Stable {
            proof: proof.clone(),
            snapshot: snapshot.clone(),
        });
        self.stable = proof;
        self.stable_snapshot = snapshot;
        self.collect_garbage();
    }
}
