//! The membership service across epochs with Byzantine MS members, churn and crashes
//! (issue 4): 300 seeds in CI, each three epochs; a failing seed prints itself and replays
//! with `MS_SEED=<seed> cargo test -p rampart-tests --test ms_sim replay`.

use rampart_tests::ms_sim::{self, Fault};

#[test]
fn three_hundred_seeds_keep_every_invariant() {
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..300 {
        let out = ms_sim::run(seed, 3).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.epochs, 3);
        seen.extend(out.faults.iter().map(|f| format!("{f:?}")));
    }
    for f in [
        Fault::LyingDealer,
        Fault::FalseComplainer,
        Fault::BadShares,
        Fault::Silent,
    ] {
        assert!(seen.contains(&format!("{f:?}")), "no seed injected {f:?}");
    }
}

#[test]
fn a_seed_replays_exactly() {
    assert_eq!(ms_sim::run(41, 3), ms_sim::run(41, 3));
}

#[test]
fn replay() {
    if let Ok(seed) = std::env::var("MS_SEED") {
        let seed: u64 = seed.parse().expect("MS_SEED is a number");
        println!("{:?}", ms_sim::run(seed, 3));
    }
}
