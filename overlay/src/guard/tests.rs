use super::*;

const LIMITS: ShareLimits = ShareLimits {
    total: 10,
    per_party: 4,
    reserved: 3,
};

#[test]
fn one_party_gets_its_share_and_no_more_and_others_keep_theirs() {
    let mut s = Shares::new(LIMITS);
    for _ in 0..4 {
        s.take(&1u8, Class::Outside).unwrap();
    }
    assert_eq!(s.take(&1, Class::Outside), Err(Refusal::PartyFull(4)));
    assert_eq!((s.used(), s.held_by(&1), s.refused()), (4, 4, 1));
    s.take(&2, Class::Outside).unwrap();
    s.give_back(&1);
    s.take(&1, Class::Outside).unwrap();
    assert_eq!(s.used(), 5);
}

#[test]
fn outsiders_cannot_take_the_room_kept_for_own_work() {
    let mut s = Shares::new(LIMITS);
    for party in 0..7u8 {
        s.take(&party, Class::Outside).unwrap();
    }
    assert_eq!(s.take(&7, Class::Outside), Err(Refusal::TableFull(7)));
    for _ in 0..3 {
        s.take(&100, Class::Own).unwrap();
    }
    assert_eq!(s.take(&101, Class::Own), Err(Refusal::TableFull(10)));
    assert_eq!((s.used(), s.refused()), (10, 2));
}

#[test]
fn giving_back_what_a_party_never_held_changes_nothing() {
    let mut s = Shares::new(LIMITS);
    s.take(&1u8, Class::Own).unwrap();
    s.give_back(&9);
    assert_eq!((s.used(), s.held_by(&1)), (1, 1));
    s.give_back(&1);
    s.give_back(&1);
    assert_eq!(s.used(), 0);
}

const RATE: RateLimits = RateLimits {
    per_second: 2,
    burst: 3,
    parties_max: 2,
};

#[test]
fn a_party_gets_its_burst_then_its_rate() {
    let mut r = Rate::new(RATE);
    assert!((0..3).all(|_| r.allow(&1u8, 0)));
    assert!(!r.allow(&1, 0));
    assert!(!r.allow(&1, 499));
    assert!(r.allow(&1, 500));
    assert!(!r.allow(&1, 500));
    assert_eq!(r.refused(), 3);
    // Another party is not slowed by the first.
    assert!(r.allow(&2, 500));
}

#[test]
fn made_up_parties_past_the_table_are_refused_until_a_bucket_refills() {
    let mut r = Rate::new(RATE);
    assert!(r.allow(&1u8, 0));
    assert!(r.allow(&2, 0));
    assert!(!r.allow(&3, 100));
    assert_eq!(r.parties(), 2);
    // After 500 ms both buckets are full again and carry nothing worth keeping.
    assert!(r.allow(&3, 600));
    assert_eq!(r.parties(), 1);
}

#[test]
fn a_clock_that_goes_back_does_not_mint_tokens() {
    let mut r = Rate::new(RATE);
    assert!((0..3).all(|_| r.allow(&1u8, 10_000)));
    assert!(!r.allow(&1, 5_000));
    assert!(!r.allow(&1, 10_000));
}
