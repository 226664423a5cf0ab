//! What moves between two rings: per arc the old and new group, per node the ranges gained
//! (and from which old group) and lost. Pure; the transfer planner builds on it.

use std::collections::BTreeMap;

use super::{Range, Ring};
use crate::id::{NodeId, RingPos};

/// One arc of the ring with its group before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArcChange {
    /// The arc.
    pub range: Range,
    /// Its replica group in the old ring.
    pub old: Vec<NodeId>,
    /// Its replica group in the new ring.
    pub new: Vec<NodeId>,
}

/// What one node gains and loses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeChanges {
    /// Ranges the node must fetch, each with the old group that holds it.
    pub gained: Vec<(Range, Vec<NodeId>)>,
    /// Ranges the node may delete once the new holders have them.
    pub lost: Vec<Range>,
}

/// The difference between two rings, as arcs that cover the ring exactly once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingDiff {
    /// Every arc, clockwise from the lowest boundary; adjacent arcs with the same groups merged.
    pub arcs: Vec<ArcChange>,
}

impl RingDiff {
    /// The diff from `old` to `new`.
    pub fn between(old: &Ring, new: &Ring) -> RingDiff {
        let mut cuts: Vec<RingPos> = old.boundaries().chain(new.boundaries()).copied().collect();
        cuts.sort_unstable();
        cuts.dedup();
        let n = cuts.len();
        let mut arcs: Vec<ArcChange> = Vec::with_capacity(n);
        for k in 0..n {
            let range = Range {
                start: cuts[(k + n - 1) % n],
                end: cuts[k],
            };
            let (og, ng) = (old.replica_group(&cuts[k]), new.replica_group(&cuts[k]));
            match arcs.last_mut() {
                Some(last) if last.old == og && last.new == ng => last.range.end = range.end,
                _ => arcs.push(ArcChange {
                    range,
                    old: og,
                    new: ng,
                }),
            }
        }
        if arcs.len() > 1 {
            let last = arcs.len() - 1;
            if arcs[0].old == arcs[last].old && arcs[0].new == arcs[last].new {
                arcs[0].range.start = arcs[last].range.start;
                arcs.pop();
            }
        }
        if arcs.len() == 1 {
            arcs[0].range = Range::full();
        }
        RingDiff { arcs }
    }

    /// Arcs whose group changes.
    pub fn moved(&self) -> impl Iterator<Item = &ArcChange> {
        self.arcs.iter().filter(|a| a.old != a.new)
    }

    /// Per node, what it gains and loses; nodes with no change are absent.
    pub fn per_node(&self) -> BTreeMap<NodeId, NodeChanges> {
        let mut out: BTreeMap<NodeId, NodeChanges> = BTreeMap::new();
        for arc in self.moved() {
            for n in arc.new.iter().filter(|n| !arc.old.contains(n)) {
                out.entry(*n)
                    .or_default()
                    .gained
                    .push((arc.range, arc.old.clone()));
            }
            for n in arc.old.iter().filter(|n| !arc.new.contains(n)) {
                out.entry(*n).or_default().lost.push(arc.range);
            }
        }
        out
    }
}
