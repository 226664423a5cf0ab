//! A member of a configuration.

use serde::{Deserialize, Serialize};

use crate::cert::check_addrs;
use crate::crypto::PublicKey;
use crate::id::NodeId;

/// A node in a configuration: its key (which gives its id) and where it listens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The node's public key.
    pub key: PublicKey,
    /// Its addresses (multiaddrs in text form).
    pub addrs: Vec<String>,
}

impl Member {
    /// The node's id.
    pub fn id(&self) -> NodeId {
        NodeId::of(&self.key)
    }

    /// Checks the address list.
    pub fn check(&self) -> Result<(), String> {
        check_addrs(&self.addrs)
    }
}
