//! Outsiders with a few hundred made-up identities flood a real 7-node cluster from four
//! loopback hosts (issue 18): junk and forged order requests, freshness requests,
//! configuration requests, gossip junk, and connections held open. While it runs, an admin revocation
//! and a join must take effect, epochs must keep closing, a client's puts and gets must stay
//! within a bound of their unloaded latency, and every node's memory under a ceiling. The
//! nodes' own counters must show the flood refused at each bound it reaches.

use std::time::Duration;

use rampart_tests::flood::trial::{self, TAKES_EFFECT};

/// A node's resident memory must stay under this.
const RSS_CEILING_KIB: u64 = 1024 * 1024;
/// Flooded put/get worst case against the unloaded one (at least 100 ms is allowed).
const LATENCY_FACTOR: u32 = 10;

#[test]
fn outsiders_with_made_up_identities_do_not_stop_revocations_joins_or_epochs() {
    let o = trial::run(1);
    println!("{o:#?}");
    assert!(o.revoked_after <= TAKES_EFFECT && o.joined_after <= TAKES_EFFECT * 2);
    assert!(
        o.epochs.1 >= o.epochs.0 + 2,
        "epochs stopped: {:?}",
        o.epochs
    );
    let (calm, flooded) = o.worst;
    let allowed = calm.max(Duration::from_millis(100)) * LATENCY_FACTOR;
    assert!(
        flooded <= allowed,
        "put+get {flooded:?} flooded, {calm:?} calm"
    );
    assert!(
        o.rss_kib.iter().all(|&k| k < RSS_CEILING_KIB),
        "a node's RSS passed {RSS_CEILING_KIB} KiB: {:?}",
        o.rss_kib
    );
    for bound in [
        "order_not_admitted",
        "order_bad_signature",
        "connections",
        "pbft_outsider",
    ] {
        assert!(
            o.refused(bound) > 0,
            "nothing refused at {bound}: {:?}",
            o.refused
        );
    }
    let freshness = o.refused("freshness_rate") + o.refused("sessions");
    assert!(
        freshness > 0,
        "freshness was never limited: {:?}",
        o.refused
    );
}
