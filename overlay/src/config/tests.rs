use super::*;
use crate::crypto::SecretKey;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

pub(crate) fn member(seed: u64) -> Member {
    let key = SecretKey::generate(&mut ChaCha20Rng::seed_from_u64(seed)).public();
    Member {
        key,
        addrs: vec![format!("/ip4/127.0.0.1/tcp/{}", 1000 + seed % 50_000)],
    }
}

pub(crate) fn config(epoch: u64, seeds: &[u64], f: u32) -> Configuration {
    let mut members: Vec<Member> = seeds.iter().map(|s| member(*s)).collect();
    members.sort_by_key(Member::id);
    members.dedup_by_key(|m| m.id());
    let ids: Vec<NodeId> = members.iter().map(Member::id).collect();
    let ms_group = choose_ms_group(&ids, 1, &Hash::of(&[&epoch.to_be_bytes()]));
    Configuration {
        epoch: Epoch(epoch),
        members,
        ms_group,
        f,
        f_ms: 1,
        vnodes: 8,
        revoked: BTreeMap::new(),
    }
}

#[test]
fn a_well_formed_configuration_validates_and_round_trips() {
    let c = config(0, &[1, 2, 3, 4, 5], 1);
    c.validate().unwrap();
    let bytes = c.to_bytes();
    assert_eq!(Configuration::from_bytes(&bytes).unwrap(), c);
    assert_eq!(Configuration::from_bytes(&bytes).unwrap().hash(), c.hash());
}

#[test]
fn unsorted_members_or_foreign_ms_group_are_refused() {
    let mut c = config(0, &[1, 2, 3, 4, 5], 1);
    c.members.swap(0, 1);
    assert!(c.validate().is_err());
    let mut c = config(0, &[1, 2, 3, 4, 5], 1);
    c.ms_group[0] = member(99).id();
    c.ms_group.sort();
    assert!(c.validate().is_err());
}

#[test]
fn a_delta_from_another_base_is_refused() {
    let a = config(0, &[1, 2, 3, 4], 1);
    let b = config(1, &[1, 2, 3, 4, 5], 1);
    let other = config(0, &[1, 2, 3, 6], 1);
    let d = Delta::between(&a, &b);
    assert!(matches!(d.apply(&other), Err(DeltaError::WrongBase { .. })));
    let mut forged = d.clone();
    forged.f = 2;
    assert!(matches!(
        forged.apply(&a),
        Err(DeltaError::ResultMismatch { .. })
    ));
}

proptest! {
    /// Applying the delta of e→e+1 to e gives e+1, whatever joins and leaves.
    #[test]
    fn applying_the_delta_gives_the_next_configuration(
        before in prop::collection::btree_set(0u64..200, 1..40),
        after in prop::collection::btree_set(0u64..200, 1..40),
        revoked in prop::collection::btree_map(0u64..20, 0u64..1000, 0..5),
    ) {
        let a = config(3, &before.iter().copied().collect::<Vec<_>>(), 1);
        let mut b = config(4, &after.iter().copied().collect::<Vec<_>>(), 1);
        b.revoked = revoked
            .iter()
            .map(|(c, t)| (ClientId(Hash::of(&[&c.to_be_bytes()])), Timestamp(*t)))
            .collect();
        let d = Delta::between(&a, &b);
        prop_assert_eq!(d.apply(&a).unwrap(), b);
    }
}
