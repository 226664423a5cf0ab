//! What a node reports about itself (`rampart status`, `rampart analyze`, the HTTP analyser):
//! membership as it sees it, its PBFT replica, its dBQS replica with latencies and state
//! transfer, the epochs it went through and what it saw happen.

use serde::{Deserialize, Serialize};

use crate::id::{ClientId, Epoch, Hash, NodeId};

/// What a node sees, as `rampart status` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    /// The node's id.
    pub node: NodeId,
    /// The software version.
    pub version: String,
    /// Seconds since the node started.
    pub uptime_secs: u64,
    /// Addresses the node listens on.
    pub listen: Vec<String>,
    /// Where its HTTP analyser (`/status`, `/metrics`) listens, if it runs one.
    pub http: Option<String>,
    /// The current epoch.
    pub epoch: Epoch,
    /// Its configuration hash.
    pub config_hash: Hash,
    /// Faults tolerated per replica group.
    pub f: u32,
    /// Faults tolerated in the MS group.
    pub f_ms: u32,
    /// Every member of the configuration as this node sees it.
    pub members: Vec<MemberStatus>,
    /// The node's PBFT replica, if it is in the MS group.
    pub pbft: Option<PbftStatus>,
    /// Its dBQS replica.
    pub store: Option<StoreStatus>,
    /// Ring positions per member.
    pub vnodes: u32,
    /// The configurations this node adopted, newest first (at most `HISTORY_MAX`).
    pub history: Vec<EpochSummary>,
    /// Clients revoked in the current configuration, until when (seconds since 1970).
    pub revoked: Vec<(ClientId, u64)>,
    /// What this node saw happen, newest first (at most `EVENTS_MAX`).
    pub events: Vec<Event>,
    /// What it refused at its bounds (`crate::guard`), since it started.
    #[serde(default)]
    pub refused: Refused,
}

/// Requests a node refused at its bounds, by bound, since it started: each is a request that
/// allocated nothing and changed nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    /// Order requests whose signer the MS does not admit.
    pub order_not_admitted: u64,
    /// Order requests whose signature did not verify.
    pub order_bad_signature: u64,
    /// Order requests past their signer's share or the reply table.
    pub order_full: u64,
    /// Reply channels of order requests held now.
    pub order_held: u64,
    /// Freshness requests past their peer's rate.
    pub freshness_rate: u64,
    /// Signing sessions refused (a peer's share, or the room outsiders may use).
    pub sessions: u64,
    /// Commitment rounds refused as a holder (a coordinator's share, or the table).
    pub nonces: u64,
    /// Incoming connections refused (per IP, pending handshakes, in all).
    pub connections: u64,
    /// Gossip messages not forwarded (authored by a non-member, or not valid).
    #[serde(default)]
    pub gossip: u64,
    /// PBFT frames from outside the MS groups, dropped without decoding.
    #[serde(default)]
    pub pbft_outsider: u64,
    /// Answers to non-members past their byte budget (per peer, or all together).
    #[serde(default)]
    pub answer_bytes: u64,
}

/// Epochs a status report summarises.
pub const HISTORY_MAX: usize = 64;
/// Events a status report carries.
pub const EVENTS_MAX: usize = 64;

/// One configuration this node adopted, against the one before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochSummary {
    /// The epoch.
    pub epoch: Epoch,
    /// How many members.
    pub members: u32,
    /// Its MS group.
    pub ms_group: Vec<NodeId>,
    /// Members that joined (empty when the previous configuration is not known here).
    pub joined: Vec<NodeId>,
    /// Members that left.
    pub left: Vec<NodeId>,
    /// Clients revoked in it.
    pub revoked: Vec<ClientId>,
    /// Seconds since this node adopted it.
    pub secs_ago: u64,
}

/// What kind of thing happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// A node joined.
    Joined,
    /// A member left: removed by the authority or evicted.
    Left,
    /// A client was revoked.
    Revoked,
    /// This node found proof of misbehaviour and reported it to the MS.
    Evidence,
    /// This node (an MS replica) reported a member that missed its probes.
    Unresponsive,
}

impl EventKind {
    /// Its name in JSON and on the dashboard.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Joined => "joined",
            EventKind::Left => "left",
            EventKind::Revoked => "revoked",
            EventKind::Evidence => "evidence",
            EventKind::Unresponsive => "unresponsive",
        }
    }
}

/// Something this node saw happen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Seconds ago.
    pub secs_ago: u64,
    /// The epoch it happened in (took effect in, for membership changes).
    pub epoch: Epoch,
    /// What.
    pub kind: EventKind,
    /// The node or client it is about.
    pub subject: Hash,
    /// In words.
    pub detail: String,
}

/// What a dBQS replica served and refused since the node started.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreStatus {
    /// Keyed objects held (rocksdb's estimate).
    pub keyed: u64,
    /// Content objects held, chunks included (rocksdb's estimate).
    pub content: u64,
    /// Requests the store answered.
    pub served: u64,
    /// Requests refused, by reason.
    pub refused: std::collections::BTreeMap<String, u64>,
    /// Batches the group-commit writer wrote: one rocksdb write each, one WAL fsync when
    /// durable.
    #[serde(default)]
    pub write_batches: u64,
    /// Writes (client writes and transfer deliveries) those batches held.
    #[serde(default)]
    pub batched_writes: u64,
    /// State transfer.
    pub transfer: TransferStatus,
    /// How long requests took to serve, by operation.
    pub latency: Vec<OpLatency>,
}

/// Upper bounds of the latency buckets, microseconds.
pub const LATENCY_BOUNDS_US: [u64; 12] = [
    250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000, 5_000_000,
];

/// A latency histogram of one operation.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpLatency {
    /// The operation: read, write, get_content, put_content.
    pub op: String,
    /// Requests timed.
    pub count: u64,
    /// Their total time, microseconds.
    pub sum_us: u64,
    /// Requests at or under each of `LATENCY_BOUNDS_US` (not cumulative); the rest are above.
    pub buckets: Vec<u64>,
}

impl OpLatency {
    /// An empty histogram for `op`.
    pub fn new(op: &str) -> OpLatency {
        OpLatency {
            op: op.to_string(),
            buckets: vec![0; LATENCY_BOUNDS_US.len()],
            ..OpLatency::default()
        }
    }

    /// Counts one request that took `us` microseconds.
    pub fn observe(&mut self, us: u64) {
        self.count += 1;
        self.sum_us = self.sum_us.saturating_add(us);
        if let Some(i) = LATENCY_BOUNDS_US.iter().position(|b| us <= *b)
            && let Some(n) = self.buckets.get_mut(i)
        {
            *n += 1;
        }
    }

    /// Cumulative counts per bound, in seconds, as Prometheus histograms have them.
    pub fn cumulative(&self) -> Vec<(f64, u64)> {
        let mut total = 0;
        LATENCY_BOUNDS_US
            .iter()
            .zip(self.buckets.iter().chain(std::iter::repeat(&0)))
            .map(|(b, n)| {
                // Reports come from other nodes: bucket counts are not to be trusted to add up.
                total = u64::saturating_add(total, *n);
                (*b as f64 / 1e6, total)
            })
            .collect()
    }
}

/// State transfer's progress on one replica.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferStatus {
    /// Waiting for a past configuration before it can plan.
    pub waiting: bool,
    /// Ranges still to fetch.
    pub pending_ranges: u64,
    /// Ranges being fetched now.
    pub running: u64,
    /// Client requests waiting for their object to be fetched first.
    pub parked: u64,
    /// Objects the pending ranges' fetches stored so far.
    pub objects: u64,
    /// Bytes they stored so far.
    pub bytes: u64,
    /// Share of the pending ranges walked, in thousandths (1000 when nothing is pending).
    pub done_permille: u32,
    /// Recent transfer rate, bytes a second.
    pub rate_bytes_s: u64,
    /// Seconds left at that rate, if it can tell.
    pub eta_secs: Option<u64>,
    /// Share of the ring this replica owns, in thousandths.
    pub owned_permille: u32,
    /// Share of the ring it may hold data for without owning it, in thousandths.
    pub retained_permille: u32,
    /// Ranges fetched whole since the node started.
    pub ranges_finished: u64,
    /// Objects fetched since the node started (ranges and on demand).
    pub objects_fetched: u64,
    /// Bytes fetched since the node started.
    pub bytes_fetched: u64,
    /// Ranges deleted since the node started.
    pub ranges_deleted: u64,
    /// Objects deleted since the node started.
    pub objects_deleted: u64,
    /// Transfer requests answered for other replicas.
    pub answered: u64,
    /// Old replicas' answers this replica's fetches refused since start: nothing, less than
    /// listed, or no valid proof of who stored the object (lies, mostly).
    pub refused_answers: u64,
    /// Objects an old replica listed that 2f+1 hold nothing provable of, so not taken.
    pub unheld_entries: u64,
}

/// A PBFT replica's progress, in a status report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PbftStatus {
    /// The replica's index in the MS group.
    pub replica: u32,
    /// Its view.
    pub view: u64,
    /// Whether the view is active.
    pub active: bool,
    /// The primary's node id.
    pub primary: NodeId,
    /// Last executed sequence number.
    pub last_exec: u64,
    /// Last stable checkpoint.
    pub stable: u64,
    /// Operations executed by the application.
    pub executed_ops: u64,
    /// Digest of the application's state.
    pub state: Hash,
    /// Inputs dropped (bad, stale, duplicate ...).
    pub dropped: u64,
    /// The membership service's queue, when this replica runs it.
    pub ms: Option<MsQueue>,
}

/// What the membership service has queued for the next epoch, as one MS replica sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MsQueue {
    /// The MS's current epoch.
    pub epoch: Epoch,
    /// The MS time, seconds since the Unix epoch.
    pub time: u64,
    /// Nodes waiting to join.
    pub adds: u32,
    /// Nodes the authority removes.
    pub removes: u32,
    /// Clients to revoke.
    pub revokes: u32,
    /// Members reported unresponsive (by any number of MS replicas).
    pub reported: u32,
    /// Members proven to misbehave.
    pub evictions: u32,
}

/// One member in a status report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberStatus {
    /// The member's id.
    pub node: NodeId,
    /// Its addresses.
    pub addrs: Vec<String>,
    /// Whether it is in the MS group.
    pub ms: bool,
    /// Whether the reporting node has a live connection to it (true for itself).
    pub connected: bool,
    /// Seconds since this node last saw it answer a probe, if it did.
    pub probe_age_secs: Option<u64>,
    /// Probe rounds in a row it missed, when this node is an MS replica probing it.
    pub probe_misses: Option<u32>,
}
