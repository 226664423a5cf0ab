//! The short fault campaign on real processes (issues 8 and 15): 7 nodes, each in a network
//! namespace of its own, under client load while kills, restarts, partitions, an isolated MS
//! replica, a slow and lossy link on an honest holder during a joining node's transfer, a
//! restart in the middle of that transfer and a full disk come one after another and
//! overlapping; one node lies throughout (equivocates in PBFT, acknowledges writes it drops,
//! lists lower versions and made-up objects to transfers, answers late). Checked: nothing
//! acknowledged is lost, the history is linearizable, every correct replica of each register's
//! group holds its last acknowledged write in its own store, no read fails to decode, no
//! client error is left unexplained, and no honest client or node is revoked or evicted. Needs root (namespaces, iptables, tc); says so and skips
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
    let problems = report.problems();
    assert!(problems.is_empty(), "the campaign found: {problems:#?}");
    let v = &report.verdict;
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
    assert!(report.audit.checked > 0, "the audit looked at no replica");
    // The liar signs two votes for one PBFT step when it is an MS replica; a correct replica
    // that sees both reports them and the MS evicts it.
    if let Some((i, b, member)) = &report.liar {
        println!(
            "the liar, node{i} ({b:?}, an MS replica at the start: {}), is a member at the end: {member}; proofs reported: {}",
            report.liar_in_ms, report.proofs
        );
        if b.contains(&rampart::byzantine::Behaviour::Equivocate) && report.liar_in_ms {
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
        "campaign: {} faults injected, {} operations checked ({} writes and {} reads acknowledged, {} unknown), {} writes lost, {} replica copies audited ({} behind), {} honest clients revoked, {} correct nodes evicted, final epoch {}",
        report.faults,
        v.checked,
        report.counts.writes_ok,
        report.counts.reads_ok,
        report.counts.unknown,
        v.lost,
        report.audit.checked,
        report.audit.behind.len(),
        report.revoked.len(),
        report.evicted.len(),
        report.epoch
    );
}
