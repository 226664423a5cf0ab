//! Arcs of the ring.

use serde::{Deserialize, Serialize};

use crate::id::RingPos;

/// The arc `(start, end]` clockwise; `start == end` is the whole ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Range {
    /// Exclusive start.
    pub start: RingPos,
    /// Inclusive end.
    pub end: RingPos,
}

impl Range {
    /// The whole ring.
    pub fn full() -> Range {
        Range {
            start: RingPos::default(),
            end: RingPos::default(),
        }
    }

    /// Whether the range is the whole ring.
    pub fn is_full(&self) -> bool {
        self.start == self.end
    }

    /// Whether `x` lies in the range.
    pub fn contains(&self, x: &RingPos) -> bool {
        use std::cmp::Ordering::*;
        match self.start.cmp(&self.end) {
            Less => self.start < *x && *x <= self.end,
            Greater => *x > self.start || *x <= self.end,
            Equal => true,
        }
    }

    /// Joins arcs that follow one another (given in clockwise order), including the last with
    /// the first across the top of the ring.
    pub fn merge_adjacent(arcs: Vec<Range>) -> Vec<Range> {
        let mut out: Vec<Range> = Vec::with_capacity(arcs.len());
        for r in arcs {
            match out.last_mut() {
                Some(last) if last.end == r.start => last.end = r.end,
                _ => out.push(r),
            }
        }
        if out.len() > 1 {
            let (first, last) = (out[0], out[out.len() - 1]);
            if last.end == first.start {
                out[0].start = last.start;
                out.pop();
            }
        }
        if out.len() == 1 && out[0].start == out[0].end {
            out[0] = Range::full();
        }
        out
    }
}
