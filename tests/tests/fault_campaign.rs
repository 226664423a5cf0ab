//! The short fault campaign on real processes (issue 8): 7 nodes, each in a network namespace
//! of its own, under client load while kills, restarts, partitions, an isolated MS replica, a
//! slow and lossy link, a restart in the middle of a state transfer and a full disk come one
//! after another and overlapping. Needs root (namespaces, iptables, tc); says so and skips
//! without it. The long campaign: `cargo run -p rampart-tests --bin campaign -- --minutes 120`.

use rampart_tests::campaign::{self, Plan};

#[test]
fn the_system_keeps_its_promises_under_the_scripted_faults() {
    if let Some(why) = rampart_tests::netns::unavailable() {
        eprintln!("SKIPPED the fault campaign: {why}");
        return;
    }
    let report = campaign::run(&Plan::short()).expect("the campaign");
    println!("{report:#?}");
    let v = report.verdict;
    assert_eq!(v.lost, 0, "acknowledged writes lost");
    let said = |what: &str| report.log.iter().any(|(_, l)| l.contains(what));
    for kind in [
        "Kill(",
        "Restart(",
        "Isolate(",
        "Degrade(",
        "during its state transfer",
        "the disk is full",
    ] {
        assert!(said(kind), "no {kind} in the campaign: {:?}", report.log);
    }
    assert!(report.faults >= 8, "faults injected: {}", report.faults);
    // The liar signs two votes for one PBFT step when it is an MS replica; a correct replica
    // that sees both reports them and the MS evicts it.
    if let Some((i, b, member)) = report.liar {
        println!(
            "the liar, node{i} ({b:?}, an MS replica at the start: {}), is a member at the end: {member}; proofs reported: {}",
            report.liar_in_ms, report.proofs
        );
        if b == rampart::byzantine::Behaviour::Equivocate && report.liar_in_ms {
            assert!(
                report.proofs > 0,
                "no correct replica reported the double votes"
            );
            assert!(!member, "the equivocating MS replica was not evicted");
        }
    }
    assert!(
        report.counts.writes_ok >= 100 && report.counts.reads_ok >= 100,
        "too little load got through: {:?}",
        report.counts
    );
    println!(
        "campaign: {} faults injected, {} operations checked ({} writes and {} reads acknowledged, {} unknown), {} writes lost, final epoch {}",
        report.faults,
        v.checked,
        report.counts.writes_ok,
        report.counts.reads_ok,
        report.counts.unknown,
        v.lost,
        report.epoch
    );
}
