//! The Chord-style ring over a configuration, and replica groups (DESIGN.md §3).
//!
//! Each member takes `vnodes` positions on the 256-bit ring (hashes of its id and an index);
//! the replica group of a point x is the first `min(N, 3f+1)` *distinct* members met walking
//! clockwise from x, x included. Several positions per member even out the share of the ring
//! each holds and spread the ranges a join or leave moves over many nodes.
//!
//! Ranges are arcs `(start, end]` between consecutive positions: every point of one arc has the
//! same group, so a group is computed once per arc.

mod diff;
mod range;
mod set;

pub use diff::{ArcChange, NodeChanges, RingDiff};
pub use range::Range;
pub use set::RangeSet;

use crate::config::Configuration;
use crate::id::{Hash, NodeId, RingPos};

/// The ring of one configuration.
#[derive(Debug, Clone)]
pub struct Ring {
    /// Positions sorted clockwise, each with the index of its member in `nodes`.
    points: Vec<(RingPos, u32)>,
    /// Member ids, sorted.
    nodes: Vec<NodeId>,
    /// Size of every replica group: min(N, 3f+1).
    group_size: usize,
}

/// The position of a member's `index`-th virtual node.
pub fn vnode_position(node: &NodeId, index: u32) -> RingPos {
    Hash::of(&[b"rampart/v1/vnode\0", &node.0.0, &index.to_be_bytes()])
}

/// The size of a replica group for `f` faults among `members` nodes.
pub fn group_size(f: u32, members: usize) -> usize {
    3usize
        .saturating_mul(f as usize)
        .saturating_add(1)
        .min(members)
}

impl Ring {
    /// The ring of `config`.
    pub fn of(config: &Configuration) -> Ring {
        let ids: Vec<NodeId> = config.members.iter().map(|m| m.id()).collect();
        Ring::new(ids, config.f, config.vnodes)
    }

    /// The ring over `nodes` (any order, duplicates ignored) with `vnodes` positions each.
    pub fn new(mut nodes: Vec<NodeId>, f: u32, vnodes: u32) -> Ring {
        nodes.sort_unstable();
        nodes.dedup();
        assert!(
            u32::try_from(nodes.len()).is_ok(),
            "member count fits in u32"
        );
        let mut points = Vec::with_capacity(nodes.len() * vnodes as usize);
        for (i, id) in nodes.iter().enumerate() {
            for v in 0..vnodes {
                points.push((vnode_position(id, v), i as u32));
            }
        }
        points.sort_unstable();
        let group_size = group_size(f, nodes.len());
        Ring {
            points,
            nodes,
            group_size,
        }
    }

    /// Members on the ring, sorted.
    pub fn nodes(&self) -> &[NodeId] {
        &self.nodes
    }

    /// The number of members in every replica group.
    pub fn group_size(&self) -> usize {
        self.group_size
    }

    /// Index of the first position at or after `x`, wrapping to 0.
    fn successor(&self, x: &RingPos) -> usize {
        let i = self.points.partition_point(|(p, _)| p < x);
        if i == self.points.len() { 0 } else { i }
    }

    /// The group of the arc ending at position index `k`.
    fn group_at(&self, k: usize) -> Vec<NodeId> {
        let mut group: Vec<u32> = Vec::with_capacity(self.group_size);
        let n = self.points.len();
        for step in 0..n {
            if group.len() == self.group_size {
                break;
            }
            let node = self.points[(k + step) % n].1;
            if !group.contains(&node) {
                group.push(node);
            }
        }
        group.into_iter().map(|i| self.nodes[i as usize]).collect()
    }

    /// The replica group of `x`, in clockwise order (the first is the primary holder).
    pub fn replica_group(&self, x: &RingPos) -> Vec<NodeId> {
        if self.points.is_empty() {
            return Vec::new();
        }
        self.group_at(self.successor(x))
    }

    /// The arcs between consecutive positions with their groups, clockwise from the lowest
    /// position; together they cover the ring exactly once.
    pub fn arcs(&self) -> Vec<(Range, Vec<NodeId>)> {
        let n = self.points.len();
        (0..n)
            .map(|k| {
                let start = self.points[(k + n - 1) % n].0;
                (
                    Range {
                        start,
                        end: self.points[k].0,
                    },
                    self.group_at(k),
                )
            })
            .collect()
    }

    /// The ranges `node` holds replicas for, adjacent arcs merged.
    pub fn ranges_of(&self, node: &NodeId) -> Vec<Range> {
        let held: Vec<Range> = self
            .arcs()
            .into_iter()
            .filter(|(_, g)| g.contains(node))
            .map(|(r, _)| r)
            .collect();
        Range::merge_adjacent(held)
    }

    /// The position boundaries (arc ends), sorted.
    pub(crate) fn boundaries(&self) -> impl Iterator<Item = &RingPos> {
        self.points.iter().map(|(p, _)| p)
    }
}

#[cfg(test)]
mod tests;
