//! Messages the `Epochs` actor accepts.

use std::sync::Arc;

use actix::Message;
use overlay::config::Configuration;
use overlay::epoch::{EpochCert, Offer, OfferError};

/// The current configuration and certificate, shared read-only.
#[derive(Debug, Clone)]
pub struct View {
    /// The configuration.
    pub config: Arc<Configuration>,
    /// Its certificate.
    pub cert: EpochCert,
    /// Configurations adopted since the node started, the current one included (the last
    /// `HISTORY_EPOCHS`): a watch channel shows only the newest, and state transfer plans
    /// from every epoch in turn.
    pub history: Arc<History>,
}

/// Certified configurations by epoch.
pub type History = std::collections::BTreeMap<overlay::id::Epoch, (Arc<Configuration>, EpochCert)>;

/// Configurations a node's view remembers.
pub const HISTORY_EPOCHS: usize = 64;

/// A configuration a peer sent; `from` names the peer for logs.
#[derive(Message)]
#[rtype(result = "Result<Offer, OfferError>")]
pub struct OfferConfig {
    /// Who sent it.
    pub from: String,
    /// The configuration.
    pub config: Configuration,
    /// Its certificate.
    pub cert: EpochCert,
}

/// Asks for the current view.
#[derive(Message)]
#[rtype(result = "View")]
pub struct Current;
