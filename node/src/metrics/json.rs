//! The status report as JSON with hex ids (`rampart status --json`, the HTTP `/status`, the
//! dashboard): the report's fields, plus the ring drawn from the members (every vnode
//! position as a fraction of the ring) and this node's ranges, which follow from the
//! configuration and so do not travel in the report.

use overlay::id::{Hash, NodeId};
use overlay::ring::{Ring, vnode_position};
use overlay::wire::StatusReport;

/// The most vnode positions drawn (beyond, the dashboard draws members evenly spaced).
const RING_POINTS_MAX: usize = 1 << 20;

fn hexes(ids: impl Iterator<Item = Hash>) -> Vec<String> {
    ids.map(|h| h.to_hex()).collect()
}

/// A ring position as a fraction of the ring, from its top 64 bits.
fn fraction(p: &Hash) -> f64 {
    let mut top = [0u8; 8];
    top.copy_from_slice(&p.0[..8]);
    u64::from_be_bytes(top) as f64 / 18_446_744_073_709_551_616.0
}

/// Every vnode position with its member, sorted; and this node's ranges `(start, end]` as
/// fractions (`[0, 1]` when it holds the whole ring).
fn ring_of(r: &StatusReport) -> (Vec<serde_json::Value>, Vec<[f64; 2]>) {
    let ids: Vec<NodeId> = r.members.iter().map(|m| m.node).collect();
    // The report may come from a hostile node: draw no ring it could make absurdly large.
    let points = ids.len().saturating_mul(r.vnodes as usize);
    if r.vnodes > overlay::constants::VNODES_MAX || points > RING_POINTS_MAX {
        return (Vec::new(), Vec::new());
    }
    let mut points: Vec<(f64, &NodeId)> = ids
        .iter()
        .flat_map(|id| (0..r.vnodes).map(move |v| (fraction(&vnode_position(id, v)), id)))
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let ring = points
        .into_iter()
        .map(|(at, id)| serde_json::json!({"at": at, "node": id.to_string()}))
        .collect();
    let owned = if ids.contains(&r.node) {
        Ring::new(ids, r.f, r.vnodes)
            .ranges_of(&r.node)
            .iter()
            .map(|g| {
                if g.start == g.end {
                    [0.0, 1.0]
                } else {
                    [fraction(&g.start), fraction(&g.end)]
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    (ring, owned)
}

/// The report as JSON with hex ids, for scripts and tests.
pub fn to_json(r: &StatusReport) -> serde_json::Value {
    let members: Vec<serde_json::Value> = r
        .members
        .iter()
        .map(|m| {
            serde_json::json!({
                "node": m.node.to_string(), "addrs": m.addrs, "ms": m.ms, "connected": m.connected,
                "probe_age_secs": m.probe_age_secs, "probe_misses": m.probe_misses,
            })
        })
        .collect();
    let (ring, owned) = ring_of(r);
    serde_json::json!({
        "node": r.node.to_string(),
        "version": r.version,
        "uptime_secs": r.uptime_secs,
        "listen": r.listen,
        "http": r.http,
        "epoch": r.epoch.0,
        "config_hash": r.config_hash.to_hex(),
        "f": r.f,
        "f_ms": r.f_ms,
        "members": members,
        "pbft": r.pbft.as_ref().map(|p| serde_json::json!({
            "replica": p.replica, "view": p.view, "active": p.active, "primary": p.primary.to_string(),
            "last_exec": p.last_exec, "stable": p.stable, "executed_ops": p.executed_ops,
            "state": p.state.to_hex(), "dropped": p.dropped,
            "ms": p.ms.as_ref().map(|q| serde_json::json!({
                "epoch": q.epoch.0, "time": q.time, "adds": q.adds, "removes": q.removes,
                "revokes": q.revokes, "reported": q.reported, "evictions": q.evictions,
            })),
        })),
        "store": r.store.as_ref().map(|s| serde_json::json!({
            "keyed": s.keyed, "content": s.content, "served": s.served, "refused": s.refused,
            "write_batches": s.write_batches, "batched_writes": s.batched_writes,
            "transfer": &s.transfer,
            "latency": s.latency.iter().map(|l| serde_json::json!({
                "op": l.op, "count": l.count, "sum_secs": l.sum_us as f64 / 1e6,
                "buckets": l.cumulative(),
            })).collect::<Vec<_>>(),
        })),
        "vnodes": r.vnodes,
        "ring": ring,
        "owned": owned,
        "history": r.history.iter().map(|h| serde_json::json!({
            "epoch": h.epoch.0, "members": h.members, "secs_ago": h.secs_ago,
            "ms_group": hexes(h.ms_group.iter().map(|n| n.0)),
            "joined": hexes(h.joined.iter().map(|n| n.0)),
            "left": hexes(h.left.iter().map(|n| n.0)),
            "revoked": hexes(h.revoked.iter().map(|c| c.0)),
        })).collect::<Vec<_>>(),
        "revoked": r.revoked.iter().map(|(c, until)| serde_json::json!({
            "client": c.0.to_hex(), "until": until,
        })).collect::<Vec<_>>(),
        "events": r.events.iter().map(|e| serde_json::json!({
            "secs_ago": e.secs_ago, "epoch": e.epoch.0, "kind": e.kind.name(),
            "subject": e.subject.to_hex(), "detail": e.detail,
        })).collect::<Vec<_>>(),
        "refused": serde_json::to_value(r.refused).unwrap_or_default(),
    })
}
