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
use crate::id::{Epoch, Hash};
use crate::ms::Handover;
pub use crate::status::{
    EpochSummary, Event, EventKind, MemberStatus, MsQueue, OpLatency, PbftStatus, StatusReport,
    StoreStatus, TransferStatus,
};

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
    /// What does this node see? Answered to members and to connections from the node's own
    /// host; others send `Analyze`.
    Status,
    /// What does this node see, asked by an analyst whose credential (granting `analyze`,
    /// for the key this connection proved) is attached.
    Analyze(Box<Certificate>),
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
