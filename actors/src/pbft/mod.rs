//! The PBFT replica actor: hosts an `overlay::pbft::Replica`, persists its records in rocksdb
//! before anything they protect is sent, runs its timers, and hands encoded messages to the
//! network task over a bounded channel.

mod actor;
mod hook;
mod ingress;
mod ms_hook;
mod store;

pub use actor::{HOOK_TICK, MAILBOX_CAPACITY, ReplicaActor};
pub use hook::{Hook, HookResult, Idle};
pub use ingress::{Deliver, InstanceLink, Outbound, PbftView, Summary};
pub use ms_hook::{MsHook, Successor, start_instance};
pub use store::{PbftStore, StoreError};
