//! The PBFT replica actor: hosts an `overlay::pbft::Replica`, persists its records in rocksdb
//! before anything they protect is sent, runs its timers, and hands encoded messages to the
//! network task over a bounded channel.

mod actor;
mod ingress;
mod store;

pub use actor::{MAILBOX_CAPACITY, ReplicaActor};
pub use ingress::{Deliver, Outbound, PbftView, Summary};
pub use store::{PbftStore, StoreError};
