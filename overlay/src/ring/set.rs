//! Sets of ring positions as sorted, disjoint, inclusive intervals of 256-bit numbers: what a
//! node owns, what it still lacks, what it may delete. Arcs wrap past the top of the ring;
//! intervals do not, which keeps union, intersection and difference plain merges.

use serde::{Deserialize, Serialize};

use super::Range;
use crate::id::Hash;

const TOP: [u8; 32] = [0xff; 32];
const BOTTOM: [u8; 32] = [0; 32];

fn succ(x: &[u8; 32]) -> Option<[u8; 32]> {
    let mut y = *x;
    for b in y.iter_mut().rev() {
        if *b == 0xff {
            *b = 0;
        } else {
            *b += 1;
            return Some(y);
        }
    }
    None
}

fn pred(x: &[u8; 32]) -> Option<[u8; 32]> {
    let mut y = *x;
    for b in y.iter_mut().rev() {
        if *b == 0 {
            *b = 0xff;
        } else {
            *b -= 1;
            return Some(y);
        }
    }
    None
}

/// A set of ring positions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeSet {
    /// Sorted, disjoint, not touching: `[lo, hi]` inclusive.
    spans: Vec<([u8; 32], [u8; 32])>,
}

impl RangeSet {
    /// The empty set.
    pub fn new() -> RangeSet {
        RangeSet::default()
    }

    /// The positions of one arc.
    pub fn of(r: &Range) -> RangeSet {
        if r.is_full() {
            return RangeSet {
                spans: vec![(BOTTOM, TOP)],
            };
        }
        let (s, e) = (r.start.0, r.end.0);
        let mut spans = Vec::with_capacity(2);
        if s < e {
            // `s < e` so `s` has a successor.
            if let Some(lo) = succ(&s) {
                spans.push((lo, e));
            }
        } else {
            spans.push((BOTTOM, e));
            if let Some(lo) = succ(&s) {
                spans.push((lo, TOP));
            }
        }
        RangeSet { spans }.normalised()
    }

    /// The union of arcs.
    pub fn of_all<'a>(rs: impl IntoIterator<Item = &'a Range>) -> RangeSet {
        rs.into_iter()
            .fold(RangeSet::new(), |acc, r| acc.union(&RangeSet::of(r)))
    }

    /// Whether nothing is in the set.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Whether `x` is in the set.
    pub fn contains(&self, x: &Hash) -> bool {
        self.spans.iter().any(|(lo, hi)| *lo <= x.0 && x.0 <= *hi)
    }

    fn normalised(mut self) -> RangeSet {
        self.spans.sort_unstable();
        let mut out: Vec<([u8; 32], [u8; 32])> = Vec::with_capacity(self.spans.len());
        for (lo, hi) in self.spans {
            match out.last_mut() {
                // Overlapping or touching (hi + 1 == lo) spans join.
                Some(last) if succ(&last.1).is_none_or(|n| n >= lo) => {
                    if hi > last.1 {
                        last.1 = hi;
                    }
                }
                _ => out.push((lo, hi)),
            }
        }
        RangeSet { spans: out }
    }

    /// Everything in either.
    pub fn union(&self, other: &RangeSet) -> RangeSet {
        let mut spans = self.spans.clone();
        spans.extend_from_slice(&other.spans);
        RangeSet { spans }.normalised()
    }

    /// Everything in both.
    pub fn intersect(&self, other: &RangeSet) -> RangeSet {
        let mut spans = Vec::new();
        for (a, b) in &self.spans {
            for (c, d) in &other.spans {
                let lo = *a.max(c);
                let hi = *b.min(d);
                if lo <= hi {
                    spans.push((lo, hi));
                }
            }
        }
        RangeSet { spans }.normalised()
    }

    /// Everything not in the set.
    pub fn complement(&self) -> RangeSet {
        let mut spans = Vec::new();
        let mut next = Some(BOTTOM);
        for (lo, hi) in &self.spans {
            if let Some(n) = next
                && n < *lo
                && let Some(p) = pred(lo)
            {
                spans.push((n, p));
            }
            next = succ(hi);
        }
        if let Some(n) = next {
            spans.push((n, TOP));
        }
        RangeSet { spans }
    }

    /// Everything in this set and not in `other`.
    pub fn minus(&self, other: &RangeSet) -> RangeSet {
        self.intersect(&other.complement())
    }

    /// Whether every position of this set is in `other`.
    pub fn is_subset(&self, other: &RangeSet) -> bool {
        self.minus(other).is_empty()
    }

    /// The set as arcs (a span starting at 0 becomes an arc from the top; the whole ring
    /// becomes the full arc). Spans are not joined across the top.
    pub fn ranges(&self) -> Vec<Range> {
        if self.spans == [(BOTTOM, TOP)] {
            return vec![Range::full()];
        }
        self.spans
            .iter()
            .map(|(lo, hi)| Range {
                start: Hash(pred(lo).unwrap_or(TOP)),
                end: Hash(*hi),
            })
            .collect()
    }

    /// The arc holding just `x`: `(x - 1, x]`.
    pub fn point(x: &Hash) -> Range {
        Range {
            start: Hash(pred(&x.0).unwrap_or(TOP)),
            end: *x,
        }
    }

    /// Whether the sets share a position.
    pub fn meets(&self, other: &RangeSet) -> bool {
        !self.intersect(other).is_empty()
    }

    /// The fraction of the ring the set covers, roughly (from the spans' leading 64 bits).
    pub fn share(&self) -> f64 {
        let lead = |x: &[u8; 32]| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&x[..8]);
            u64::from_be_bytes(b) as f64
        };
        self.spans
            .iter()
            .map(|(lo, hi)| (lead(hi) - lead(lo) + 1.0) / (u64::MAX as f64 + 1.0))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(b: u8) -> Hash {
        let mut x = [0u8; 32];
        x[0] = b;
        Hash(x)
    }

    fn arc(s: u8, e: u8) -> Range {
        Range {
            start: h(s),
            end: h(e),
        }
    }

    /// Positions to probe: every boundary used and its neighbours.
    fn probes() -> Vec<Hash> {
        let mut v = Vec::new();
        for b in 0..=255u8 {
            let x = h(b);
            v.push(x);
            if let Some(p) = pred(&x.0) {
                v.push(Hash(p));
            }
            if let Some(s) = succ(&x.0) {
                v.push(Hash(s));
            }
        }
        v.push(Hash(TOP));
        v
    }

    #[test]
    fn set_operations_agree_with_membership_on_arcs() {
        let arcs = [
            arc(10, 20),
            arc(200, 30),
            arc(15, 15),
            arc(0, 255),
            arc(255, 0),
            arc(30, 200),
            arc(20, 10),
        ];
        let ps = probes();
        for a in &arcs {
            let sa = RangeSet::of(a);
            for x in &ps {
                assert_eq!(sa.contains(x), a.contains(x), "{a:?} {x:?}");
            }
            let back = RangeSet::of_all(&sa.ranges());
            assert_eq!(back, sa, "{a:?} round trip");
            for b in &arcs {
                let sb = RangeSet::of(b);
                let (u, i, m) = (sa.union(&sb), sa.intersect(&sb), sa.minus(&sb));
                for x in &ps {
                    let (ia, ib) = (a.contains(x), b.contains(x));
                    assert_eq!(u.contains(x), ia || ib);
                    assert_eq!(i.contains(x), ia && ib);
                    assert_eq!(m.contains(x), ia && !ib);
                }
                assert_eq!(sa.is_subset(&sb), m.is_empty());
            }
        }
    }

    #[test]
    fn the_whole_ring_is_one_span_and_its_complement_is_empty() {
        let full = RangeSet::of(&Range::full());
        assert!(full.complement().is_empty());
        assert_eq!(full.ranges(), vec![Range::full()]);
        assert!((full.share() - 1.0).abs() < 1e-9);
        assert!(RangeSet::new().complement().contains(&Hash(TOP)));
    }
}
