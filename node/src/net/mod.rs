//! The node's libp2p side: transport, behaviours, the control codec, the task that owns the
//! swarm, threshold signing, and a one-shot client for the CLI.

pub mod behaviour;
pub mod client;
pub mod codec;
pub mod framed;
pub mod ip_limits;
pub mod listen;
pub mod outsider;
pub mod peers;
pub mod store_stream;
pub mod submitter;
pub mod swarm;
pub mod tsig;
