//! Messages of the control protocol between nodes and from the CLI, with their size bounds.
//!
//! Requests are small and capped tightly; responses may carry a whole configuration.

use serde::{Deserialize, Serialize};

use crate::cert::Certificate;
use crate::config::Configuration;
use crate::constants::WIRE_BYTES_MAX;
use crate::encoding::{DecodeError, decode, encode};
use crate::epoch::EpochCert;
use crate::freshness::FreshnessCert;
use crate::id::{Epoch, Hash, NodeId};
use crate::ms::Handover;

/// Largest control request accepted.
pub const REQUEST_BYTES_MAX: usize = 16 * 1024;
/// Largest control response accepted.
pub const RESPONSE_BYTES_MAX: usize = WIRE_BYTES_MAX;

/// A request on the control protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// "My epoch is this; send me yours if it is newer."
    Config {
        /// The asker's epoch.
        epoch: Epoch,
        /// The asker's configuration hash.
        config_hash: Hash,
    },
    /// What does this node see?
    Status,
    /// Send me your current configuration and certificate.
    Configuration,
    /// Get the MS to certify that the current epoch is fresh for my nonce.
    Freshness {
        /// The asker's nonce.
        nonce: [u8; 32],
    },
    /// The handover this node's MS replica has open (or last completed).
    Handover,
    /// The MS state this node's MS replica handed over at the end of the handover to `epoch`.
    MsState {
        /// The epoch the state starts.
        epoch: Epoch,
    },
    /// A joining node's admission: please submit this `Add` certificate to the MS.
    Admit(Box<Certificate>),
    /// Send me the configuration of this past epoch (a replica that skipped it plans its
    /// state transfer from it); answered with `Config` when still remembered.
    PastConfig {
        /// The epoch.
        epoch: Epoch,
    },
}

/// A response on the control protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// A configuration and its certificate (newer than the asker's, or asked for).
    Config {
        /// The configuration.
        config: Box<Configuration>,
        /// Its certificate.
        cert: EpochCert,
    },
    /// The asker is up to date or ahead; here is the responder's certificate.
    NotNewer {
        /// The responder's current certificate.
        cert: EpochCert,
    },
    /// The node's status.
    Status(Box<StatusReport>),
    /// A freshness certificate for the asker's nonce.
    Freshness(FreshnessCert),
    /// This node's view of the MS handover, if it has one.
    Handover(Option<Box<Handover>>),
    /// The encoded MS state handed over.
    MsState(Vec<u8>),
    /// The admission was handed to the MS.
    Relayed,
    /// The request was refused.
    Refused(String),
}

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
    /// State transfer.
    pub transfer: TransferStatus,
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
}

impl Request {
    /// Encodes for the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }
    /// Decodes from the wire with the request bound.
    pub fn from_bytes(bytes: &[u8]) -> Result<Request, DecodeError> {
        decode(bytes, REQUEST_BYTES_MAX)
    }
}

impl Response {
    /// Encodes for the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }
    /// Decodes from the wire with the response bound.
    pub fn from_bytes(bytes: &[u8]) -> Result<Response, DecodeError> {
        decode(bytes, RESPONSE_BYTES_MAX)
    }
}
