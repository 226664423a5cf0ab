//! The `Epochs` actor: holds the node's current configuration and epoch certificate, adopts
//! newer certified ones that peers offer, persists what it adopts, and publishes the current
//! view on a watch channel that the network task reads without waiting.

mod actor;
mod ingress;
mod store;

pub use actor::Epochs;
pub use ingress::{Current, OfferConfig, View};
pub use store::{EpochStore, StoreError};
