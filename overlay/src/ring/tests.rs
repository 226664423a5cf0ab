use super::*;
use crate::id::Hash;
use proptest::prelude::*;

fn id(n: u64) -> NodeId {
    NodeId(Hash::of(&[b"test-node", &n.to_be_bytes()]))
}

fn ring(ns: &[u64], f: u32, vnodes: u32) -> Ring {
    Ring::new(ns.iter().map(|n| id(*n)).collect(), f, vnodes)
}

fn pos(n: u64) -> RingPos {
    Hash::of(&[b"test-point", &n.to_be_bytes()])
}

/// Checks that `arcs` tile the ring: each starts where the previous ended, and they go round
/// exactly once.
fn assert_tiles(ranges: &[Range]) {
    if ranges.len() == 1 {
        assert!(ranges[0].is_full());
        return;
    }
    for w in ranges.windows(2) {
        assert_eq!(w[0].end, w[1].start, "arcs leave a gap or overlap");
        assert!(w[0].end < w[1].end, "arcs are not clockwise");
    }
    assert_eq!(
        ranges[ranges.len() - 1].end,
        ranges[0].start,
        "arcs do not close the circle"
    );
}

#[test]
fn a_lone_node_holds_the_whole_ring() {
    let r = ring(&[1], 1, 4);
    assert_eq!(r.replica_group(&pos(5)), vec![id(1)]);
    assert_eq!(r.ranges_of(&id(1)), vec![Range::full()]);
}

#[test]
fn with_at_most_3f_plus_1_members_everyone_holds_everything() {
    let r = ring(&[1, 2, 3, 4], 1, 8);
    for n in 1..=4 {
        assert_eq!(r.ranges_of(&id(n)), vec![Range::full()]);
    }
}

#[test]
fn ranges_of_a_node_are_exactly_the_points_it_replicates() {
    let r = ring(&(0..12).collect::<Vec<_>>(), 1, 4);
    for n in 0..12 {
        let ranges = r.ranges_of(&id(n));
        for p in 0..300 {
            let x = pos(p);
            assert_eq!(
                ranges.iter().any(|rg| rg.contains(&x)),
                r.replica_group(&x).contains(&id(n))
            );
        }
    }
}

proptest! {
    /// Every id has exactly min(N, 3f+1) distinct replicas.
    #[test]
    fn every_id_has_min_n_3f1_distinct_replicas(
        nodes in prop::collection::btree_set(0u64..10_000, 1..60),
        f in 0u32..4,
        vnodes in 1u32..16,
        probes in prop::collection::vec(any::<u64>(), 1..50),
    ) {
        let r = ring(&nodes.iter().copied().collect::<Vec<_>>(), f, vnodes);
        let want = nodes.len().min(3 * f as usize + 1);
        for p in probes {
            let mut g = r.replica_group(&pos(p));
            prop_assert_eq!(g.len(), want);
            g.sort();
            g.dedup();
            prop_assert_eq!(g.len(), want);
        }
    }

    /// The diff accounts for every range exactly once: its arcs tile the ring, and the arc
    /// holding any point names that point's old and new groups; per-node changes match.
    #[test]
    fn diff_accounts_for_every_range_exactly_once(
        before in prop::collection::btree_set(0u64..500, 1..30),
        after in prop::collection::btree_set(0u64..500, 1..30),
        f in 0u32..3,
        probes in prop::collection::vec(any::<u64>(), 1..60),
    ) {
        let a = ring(&before.iter().copied().collect::<Vec<_>>(), f, 4);
        let b = ring(&after.iter().copied().collect::<Vec<_>>(), f, 4);
        let d = RingDiff::between(&a, &b);
        let ranges: Vec<Range> = d.arcs.iter().map(|c| c.range).collect();
        assert_tiles(&ranges);
        let per_node = d.per_node();
        for p in probes {
            let x = pos(p);
            let holding: Vec<&ArcChange> = d.arcs.iter().filter(|c| c.range.contains(&x)).collect();
            prop_assert_eq!(holding.len(), 1);
            let (old, new) = (a.replica_group(&x), b.replica_group(&x));
            prop_assert_eq!(&holding[0].old, &old);
            prop_assert_eq!(&holding[0].new, &new);
            for n in new.iter().filter(|n| !old.contains(n)) {
                let gained = per_node.get(n).map(|c| c.gained.iter().filter(|(r, _)| r.contains(&x)).count());
                prop_assert_eq!(gained, Some(1));
            }
            for n in old.iter().filter(|n| !new.contains(n)) {
                let lost = per_node.get(n).map(|c| c.lost.iter().filter(|r| r.contains(&x)).count());
                prop_assert_eq!(lost, Some(1));
            }
        }
    }

    /// With N=100 and f=1, one join or leave changes the group of at most (3f+1)/N·1.5 of
    /// uniformly drawn ids.
    #[test]
    fn one_join_or_leave_moves_a_small_share_of_ids(
        members in prop::collection::btree_set(0u64..1_000_000, 100..=100),
        newcomer in 1_000_000u64..2_000_000,
        leaving in 0usize..100,
        join in any::<bool>(),
        salt in any::<u64>(),
    ) {
        let members: Vec<u64> = members.into_iter().collect();
        let vnodes = crate::constants::VNODES_DEFAULT;
        let before = ring(&members, 1, vnodes);
        let mut changed_members = members.clone();
        if join { changed_members.push(newcomer); } else { changed_members.remove(leaving); }
        let after = ring(&changed_members, 1, vnodes);
        let samples = 4_000u64;
        let changed = (0..samples)
            .map(|i| pos(salt.wrapping_add(i)))
            .filter(|x| before.replica_group(x) != after.replica_group(x))
            .count();
        let bound = (4.0 / 100.0) * 1.5 * samples as f64;
        prop_assert!((changed as f64) <= bound, "{} of {} ids changed group, bound {}", changed, samples, bound);
    }
}
