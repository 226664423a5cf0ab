//! A node's status rendered for machines: JSON with hex ids (`rampart status --json`, the
//! HTTP `/status`) and Prometheus text (`rampart status --metrics`, the HTTP `/metrics`):
//! epoch, membership, the PBFT replica, the dBQS store (requests served and refused by
//! reason) and state transfer (ranges pending, share walked, rate, ETA, objects and bytes
//! fetched, ranges deleted).

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

use overlay::wire::StatusReport;

mod json;
mod latency;

pub use json::to_json;

type Labels = Vec<(String, String)>;

fn gauge(reg: &mut Registry, name: &str, help: &str, v: i64) {
    let g: Gauge = Gauge::default();
    g.set(v);
    reg.register(name, help, g);
}

fn ratio(reg: &mut Registry, name: &str, help: &str, permille: u32) {
    let g: Gauge<f64, AtomicU64> = Gauge::default();
    g.set(f64::from(permille) / 1000.0);
    reg.register(name, help, g);
}

fn counter(reg: &mut Registry, name: &str, help: &str, v: u64) {
    let c: Counter = Counter::default();
    c.inc_by(v);
    reg.register(name, help, c);
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The report in the Prometheus text exposition format.
pub fn render(r: &StatusReport) -> String {
    let mut reg = Registry::with_prefix("rampart");
    gauge(
        &mut reg,
        "epoch",
        "The node's current epoch",
        int(r.epoch.0),
    );
    gauge(
        &mut reg,
        "members",
        "Members of the current configuration",
        r.members.len() as i64,
    );
    gauge(
        &mut reg,
        "members_connected",
        "Other members this node is connected to",
        r.members
            .iter()
            .filter(|m| m.connected && m.node != r.node)
            .count() as i64,
    );
    gauge(
        &mut reg,
        "ms_group",
        "Members of the MS group",
        r.members.iter().filter(|m| m.ms).count() as i64,
    );
    gauge(
        &mut reg,
        "uptime_seconds",
        "Seconds since the node started",
        int(r.uptime_secs),
    );
    if let Some(p) = &r.pbft {
        gauge(
            &mut reg,
            "pbft_view",
            "The MS replica's PBFT view",
            int(p.view),
        );
        gauge(
            &mut reg,
            "pbft_last_executed",
            "The last sequence number the MS replica executed",
            int(p.last_exec),
        );
        gauge(
            &mut reg,
            "pbft_stable_checkpoint",
            "The MS replica's last stable checkpoint",
            int(p.stable),
        );
        gauge(
            &mut reg,
            "pbft_view_active",
            "1 while the view is active, 0 during a view change",
            i64::from(p.active),
        );
        counter(&mut reg, "pbft_dropped", "PBFT inputs dropped", p.dropped);
    }
    probes(&mut reg, r);
    refused(&mut reg, &r.refused);
    gauge(
        &mut reg,
        "revoked_clients",
        "Clients revoked in the current configuration",
        r.revoked.len() as i64,
    );
    if let Some(s) = &r.store {
        let objects = Family::<Labels, Gauge>::default();
        for (kind, n) in [("keyed", s.keyed), ("content", s.content)] {
            objects
                .get_or_create(&vec![("kind".into(), kind.into())])
                .set(int(n));
        }
        reg.register(
            "store_objects",
            "Objects held (rocksdb's estimate)",
            objects,
        );
        counter(
            &mut reg,
            "store_served",
            "Store requests answered",
            s.served,
        );
        counter(
            &mut reg,
            "store_write_batches",
            "Batches the group-commit writer wrote (one rocksdb write, one WAL fsync when durable)",
            s.write_batches,
        );
        counter(
            &mut reg,
            "store_batched_writes",
            "Writes those batches held",
            s.batched_writes,
        );
        let refused = Family::<Labels, Counter>::default();
        for (why, n) in &s.refused {
            refused
                .get_or_create(&vec![("reason".into(), why.clone())])
                .inc_by(*n);
        }
        reg.register(
            "store_refused",
            "Store requests refused, by reason",
            refused,
        );
        reg.register_with_unit(
            "store_latency",
            "Time to serve a store request that passed the checks, by operation",
            prometheus_client::registry::Unit::Seconds,
            latency::Latencies(s.latency.clone()),
        );
        let t = &s.transfer;
        gauge(
            &mut reg,
            "transfer_pending_ranges",
            "Ranges still to fetch",
            int(t.pending_ranges),
        );
        gauge(
            &mut reg,
            "transfer_running",
            "Ranges being fetched now",
            int(t.running),
        );
        gauge(
            &mut reg,
            "transfer_parked_requests",
            "Client requests waiting for their object to arrive",
            int(t.parked),
        );
        gauge(
            &mut reg,
            "transfer_waiting_for_config",
            "1 while planning waits for a past configuration",
            i64::from(t.waiting),
        );
        ratio(
            &mut reg,
            "transfer_done_ratio",
            "Share of the pending ranges walked (1 when none is pending)",
            t.done_permille,
        );
        gauge(
            &mut reg,
            "transfer_rate_bytes",
            "Recent transfer rate, bytes a second",
            int(t.rate_bytes_s),
        );
        if let Some(eta) = t.eta_secs {
            gauge(
                &mut reg,
                "transfer_eta_seconds",
                "Seconds left at the recent rate",
                int(eta),
            );
        }
        counter(
            &mut reg,
            "transfer_objects_fetched",
            "Objects fetched since start",
            t.objects_fetched,
        );
        counter(
            &mut reg,
            "transfer_refused_answers",
            "Old replicas' answers refused since start (nothing, less than listed, or no proof of who stored the object)",
            t.refused_answers,
        );
        counter(
            &mut reg,
            "transfer_unheld_entries",
            "Listed objects not taken since start: 2f+1 old replicas hold nothing provable of them",
            t.unheld_entries,
        );
        counter(
            &mut reg,
            "transfer_bytes_fetched",
            "Bytes fetched since start",
            t.bytes_fetched,
        );
        counter(
            &mut reg,
            "transfer_ranges_finished",
            "Ranges fetched whole since start",
            t.ranges_finished,
        );
        counter(
            &mut reg,
            "transfer_ranges_deleted",
            "Ranges deleted since start (no longer owned)",
            t.ranges_deleted,
        );
        counter(
            &mut reg,
            "transfer_objects_deleted",
            "Objects deleted since start (no longer owned)",
            t.objects_deleted,
        );
        counter(
            &mut reg,
            "transfer_answered",
            "Transfer requests answered for other replicas",
            t.answered,
        );
        ratio(
            &mut reg,
            "ring_owned_ratio",
            "Share of the ring this node is a replica for",
            t.owned_permille,
        );
        ratio(
            &mut reg,
            "ring_retained_ratio",
            "Share of the ring it may hold data for without owning it",
            t.retained_permille,
        );
    }
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = encode(&mut out, &reg);
    out
}

/// Probe health per member: consecutive misses (MS replicas only) and the age of the last
/// answer this node saw.
fn probes(reg: &mut Registry, r: &StatusReport) {
    let misses = Family::<Labels, Gauge>::default();
    let age = Family::<Labels, Gauge>::default();
    for m in &r.members {
        let labels = vec![("node".to_string(), m.node.0.short())];
        if let Some(n) = m.probe_misses {
            misses.get_or_create(&labels).set(i64::from(n));
        }
        if let Some(a) = m.probe_age_secs {
            age.get_or_create(&labels).set(int(a));
        }
    }
    reg.register(
        "probe_misses",
        "Probe rounds in a row a member missed (reported by MS replicas)",
        misses,
    );
    reg.register(
        "probe_answer_age_seconds",
        "Seconds since this node last saw a member answer a probe",
        age,
    );
}

/// Requests refused at each bound (`refused_total{bound=...}`), and order replies held.
fn refused(reg: &mut Registry, r: &overlay::status::Refused) {
    let family = Family::<Labels, Counter>::default();
    for (bound, n) in refused_by_bound(r) {
        family
            .get_or_create(&vec![("bound".to_string(), bound.to_string())])
            .inc_by(n);
    }
    reg.register(
        "refused",
        "Requests refused at a bound (allocated nothing, changed nothing)",
        family,
    );
    gauge(
        reg,
        "order_replies_held",
        "Order requests whose reply channel this MS replica keeps",
        int(r.order_held),
    );
}

/// Each bound's refusals, named as the metrics and `rampart status` name them.
pub fn refused_by_bound(r: &overlay::status::Refused) -> [(&'static str, u64); 10] {
    [
        ("order_not_admitted", r.order_not_admitted),
        ("order_bad_signature", r.order_bad_signature),
        ("order_full", r.order_full),
        ("freshness_rate", r.freshness_rate),
        ("sessions", r.sessions),
        ("nonces", r.nonces),
        ("connections", r.connections),
        ("gossip", r.gossip),
        ("pbft_outsider", r.pbft_outsider),
        ("answer_bytes", r.answer_bytes),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use overlay::id::{Epoch, Hash, NodeId};
    use overlay::wire::{OpLatency, StoreStatus, TransferStatus};

    #[test]
    fn transfer_progress_is_in_the_text() {
        let mut refused = std::collections::BTreeMap::new();
        refused.insert("busy".to_string(), 3);
        let mut read = OpLatency::new("read");
        read.observe(400);
        read.observe(3_000);
        read.observe(60_000_000);
        let r = StatusReport {
            node: NodeId(Hash([1; 32])),
            version: "0".into(),
            uptime_secs: 5,
            listen: vec![],
            http: None,
            epoch: Epoch(7),
            config_hash: Hash([2; 32]),
            f: 1,
            f_ms: 1,
            members: vec![],
            pbft: None,
            store: Some(StoreStatus {
                keyed: 10,
                content: 2,
                served: 40,
                refused,
                write_batches: 5,
                batched_writes: 12,
                transfer: TransferStatus {
                    pending_ranges: 4,
                    done_permille: 250,
                    bytes_fetched: 1234,
                    eta_secs: Some(9),
                    ..TransferStatus::default()
                },
                latency: vec![read],
            }),
            vnodes: 4,
            history: vec![],
            revoked: vec![],
            events: vec![],
            refused: overlay::status::Refused {
                connections: 5,
                order_held: 2,
                ..Default::default()
            },
        };
        let text = render(&r);
        for line in [
            "rampart_epoch 7",
            "rampart_refused_total{bound=\"connections\"} 5",
            "rampart_refused_total{bound=\"order_full\"} 0",
            "rampart_order_replies_held 2",
            "rampart_transfer_pending_ranges 4",
            "rampart_transfer_done_ratio 0.25",
            "rampart_transfer_bytes_fetched_total 1234",
            "rampart_transfer_eta_seconds 9",
            "rampart_store_refused_total{reason=\"busy\"} 3",
            "rampart_store_objects{kind=\"keyed\"} 10",
            "rampart_store_latency_seconds_count{op=\"read\"} 3",
            "rampart_store_latency_seconds_bucket{le=\"0.0005\",op=\"read\"} 1",
            "rampart_store_latency_seconds_bucket{le=\"0.005\",op=\"read\"} 2",
            "rampart_store_latency_seconds_bucket{le=\"+Inf\",op=\"read\"} 3",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from:\n{text}"
            );
        }
    }
}
