//! Choosing the MS group of an epoch.

use crate::id::{Hash, NodeId};

/// How many members the MS group has: 3·f_ms+1, or every member when there are fewer.
pub fn ms_group_size(f_ms: u32, members: usize) -> usize {
    let want = 3usize.saturating_mul(f_ms as usize).saturating_add(1);
    want.min(members)
}

/// The MS group drawn from `members` with `seed`: the members whose hash with the seed is
/// smallest. The seed is the previous epoch certificate's hash (or, at genesis, the hash of the
/// member list), so no one can predict the group before that certificate exists.
pub fn choose_ms_group(members: &[NodeId], f_ms: u32, seed: &Hash) -> Vec<NodeId> {
    let mut ranked: Vec<(Hash, NodeId)> = members
        .iter()
        .map(|id| (Hash::of(&[b"rampart/v1/ms-draw\0", &seed.0, &id.0.0]), *id))
        .collect();
    ranked.sort_unstable();
    let mut group: Vec<NodeId> = ranked
        .into_iter()
        .take(ms_group_size(f_ms, members.len()))
        .map(|(_, id)| id)
        .collect();
    group.sort_unstable();
    group
}
