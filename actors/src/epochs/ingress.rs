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
}

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
