//! Checking the transferable proofs of PBFT: checkpoint, prepared and commit certificates,
//! view-change and new-view messages. Pure functions of the instance configuration.

use std::collections::BTreeSet;

use crate::id::Hash;

use super::config::Config;
use super::message::{CheckpointProof, CommitProof, Payload, PreparedProof, Signed, ViewChange};
use super::types::{Batch, ReplicaIdx, Seq, View};

/// The fields of a pre-prepare.
pub struct PrePrepareRef<'a> {
    /// View.
    pub view: View,
    /// Sequence number.
    pub seq: Seq,
    /// Digest.
    pub digest: Hash,
    /// Batch.
    pub batch: &'a Batch,
}

/// A well-formed pre-prepare from the primary of its view, signature checked.
pub fn pre_prepare<'a>(cfg: &Config, m: &'a Signed) -> Option<PrePrepareRef<'a>> {
    let Payload::PrePrepare {
        view,
        seq,
        digest,
        batch,
    } = &m.payload
    else {
        return None;
    };
    if m.from != cfg.primary(*view) || batch.0.len() > cfg.batch_max || batch.digest() != *digest {
        return None;
    }
    m.verify(cfg).ok()?;
    Some(PrePrepareRef {
        view: *view,
        seq: *seq,
        digest: *digest,
        batch,
    })
}

/// Counts distinct valid senders in `votes` whose payload `matches`, excluding `except`.
fn distinct_valid(
    cfg: &Config,
    votes: &[Signed],
    except: Option<ReplicaIdx>,
    matches: impl Fn(&Payload) -> bool,
) -> Option<usize> {
    let mut seen = BTreeSet::new();
    for v in votes {
        if Some(v.from) == except || !matches(&v.payload) || !seen.insert(v.from) {
            return None;
        }
        v.verify(cfg).ok()?;
    }
    Some(seen.len())
}

/// A checkpoint proof: 2f+1 distinct matching checkpoint messages (or the empty proof of
/// sequence number 0).
pub fn checkpoint(cfg: &Config, p: &CheckpointProof) -> bool {
    if p.seq == Seq(0) {
        return p.votes.is_empty();
    }
    let ok = |pl: &Payload| matches!(pl, Payload::Checkpoint { seq, state } if *seq == p.seq && *state == p.state);
    distinct_valid(cfg, &p.votes, None, ok).is_some_and(|n| n >= cfg.quorum())
}

/// A prepared certificate for a view below `below`: returns (view, seq, digest).
pub fn prepared(cfg: &Config, p: &PreparedProof, below: View) -> Option<(View, Seq, Hash)> {
    let pp = pre_prepare(cfg, &p.pre_prepare)?;
    if pp.view >= below {
        return None;
    }
    let ok = |pl: &Payload| {
        matches!(pl, Payload::Prepare { view, seq, digest }
            if *view == pp.view && *seq == pp.seq && *digest == pp.digest)
    };
    let n = distinct_valid(cfg, &p.prepares, Some(cfg.primary(pp.view)), ok)?;
    (n >= 2 * cfg.f).then_some((pp.view, pp.seq, pp.digest))
}

/// A commit certificate: returns (seq, batch).
pub fn committed<'a>(cfg: &Config, p: &'a CommitProof) -> Option<(Seq, &'a Batch)> {
    let pp = pre_prepare(cfg, &p.pre_prepare)?;
    let ok = |pl: &Payload| {
        matches!(pl, Payload::Commit { view, seq, digest }
            if *view == pp.view && *seq == pp.seq && *digest == pp.digest)
    };
    let n = distinct_valid(cfg, &p.commits, None, ok)?;
    (n >= cfg.quorum()).then_some((pp.seq, pp.batch))
}

/// A view-change message whose proofs all check (the envelope's signature is checked by the
/// caller).
pub fn view_change<'a>(cfg: &Config, m: &'a Signed) -> Option<&'a ViewChange> {
    let Payload::ViewChange(vc) = &m.payload else {
        return None;
    };
    if !checkpoint(cfg, &vc.stable) {
        return None;
    }
    let mut seqs = BTreeSet::new();
    for p in &vc.prepared {
        let (_, seq, _) = prepared(cfg, p, vc.new_view)?;
        let in_window = seq > vc.stable.seq && seq.0 <= vc.stable.seq.0 + cfg.log_window;
        if !in_window || !seqs.insert(seq) {
            return None;
        }
    }
    Some(vc)
}

/// The sequence number a new view starts from and the batch for each sequence number above
/// it, as PBFT §4.4 computes them from 2f+1 view changes: for each sequence number between
/// min-s (highest stable checkpoint) and max-s (highest prepared), the batch prepared in the
/// highest view, or the null batch.
pub fn new_view_batches(vcs: &[&ViewChange]) -> (Seq, Vec<(Seq, Batch)>) {
    let min_s = vcs.iter().map(|v| v.stable.seq).max().unwrap_or_default();
    let mut best: std::collections::BTreeMap<Seq, (View, &Batch)> = Default::default();
    for vc in vcs {
        for p in &vc.prepared {
            let Payload::PrePrepare {
                view, seq, batch, ..
            } = &p.pre_prepare.payload
            else {
                continue;
            };
            if *seq <= min_s {
                continue;
            }
            let better = best.get(seq).is_none_or(|(v, _)| view > v);
            if better {
                best.insert(*seq, (*view, batch));
            }
        }
    }
    let max_s = best.keys().next_back().copied().unwrap_or(min_s);
    let batches = (min_s.0 + 1..=max_s.0)
        .map(|s| {
            (
                Seq(s),
                best.get(&Seq(s))
                    .map(|(_, b)| (*b).clone())
                    .unwrap_or_default(),
            )
        })
        .collect();
    (min_s, batches)
}
