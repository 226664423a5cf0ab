//! dBQS reads and writes under simulated faults with a lying replica, every history checked
//! by stateright's linearizability tester (issue 5): 200 seeds in CI. A failing seed prints
//! itself; replay it with
//! `DBQS_SEED=<seed> cargo test -p rampart-tests --test dbqs_sim -- --exact replay --nocapture`.

use rampart_tests::dbqs_sim::{self, LIARS, Params};

#[test]
fn two_hundred_seeds_are_linearizable_and_live() {
    let mut failures = Vec::new();
    for seed in 0..200 {
        if let Err(e) = dbqs_sim::run(seed, Params::draw(seed)) {
            failures.push(format!("seed {seed}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_ci_seeds_cover_every_liar_and_shared_owners() {
    let drawn: Vec<Params> = (0..200).map(Params::draw).collect();
    for l in LIARS {
        let n = drawn
            .iter()
            .filter(|p| p.liar.is_some_and(|(_, x)| x == l))
            .count();
        assert!(n >= 15, "{l:?} appears in only {n} seeds");
    }
    assert!(drawn.iter().filter(|p| p.shared_owner).count() >= 60);
    assert!(drawn.iter().filter(|p| p.net.drop_prob > 0.0).count() >= 60);
}

#[test]
fn a_seed_replays_exactly() {
    assert_eq!(
        dbqs_sim::run(5, Params::draw(5)),
        dbqs_sim::run(5, Params::draw(5))
    );
}

#[test]
fn replay() {
    if let Ok(seed) = std::env::var("DBQS_SEED") {
        let seed: u64 = seed.parse().expect("DBQS_SEED is a number");
        let p = Params::draw(seed);
        println!("{p:?}");
        println!("{:?}", dbqs_sim::run(seed, p));
    }
}
