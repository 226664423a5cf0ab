//! The four statements an authority makes.

use serde::{Deserialize, Serialize};

use super::Capabilities;
use crate::constants::{ADDR_CHARS_MAX, CLIENT_NAME_CHARS_MAX, MEMBER_ADDRS_MAX};
use crate::crypto::PublicKey;
use crate::id::{ClientId, NodeId};

/// A statement signed by the authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CertBody {
    /// Admit the node holding `node` at `addrs` (multiaddrs in text form).
    Add {
        /// The node's public key, also its libp2p identity.
        node: PublicKey,
        /// Where the node listens.
        addrs: Vec<String>,
    },
    /// Remove a node from the system.
    Remove {
        /// The node to remove.
        node: NodeId,
    },
    /// A client credential; its expiry is the certificate's `not_after`.
    Client {
        /// The client's public key.
        key: PublicKey,
        /// A human name for listings and logs.
        name: String,
        /// What the client may do.
        caps: Capabilities,
    },
    /// Revoke a client's credentials, whatever their expiry.
    Revoke {
        /// The client to shut out.
        client: ClientId,
    },
}

impl CertBody {
    /// A short name of the kind, for errors and listings.
    pub fn kind(&self) -> &'static str {
        match self {
            CertBody::Add { .. } => "add",
            CertBody::Remove { .. } => "remove",
            CertBody::Client { .. } => "client",
            CertBody::Revoke { .. } => "revoke",
        }
    }

    /// Checks the bounds the type cannot express; returns why the body is malformed.
    pub fn check_bounds(&self) -> Result<(), String> {
        match self {
            CertBody::Add { addrs, .. } => check_addrs(addrs),
            CertBody::Client { name, .. } => {
                if name.is_empty() || name.chars().count() > CLIENT_NAME_CHARS_MAX {
                    return Err(format!(
                        "client name must have 1 to {CLIENT_NAME_CHARS_MAX} characters"
                    ));
                }
                if name.chars().any(char::is_control) {
                    return Err("client name contains control characters".into());
                }
                Ok(())
            }
            CertBody::Remove { .. } | CertBody::Revoke { .. } => Ok(()),
        }
    }
}

/// Checks a member's address list: 1 to `MEMBER_ADDRS_MAX` printable strings of bounded length.
pub fn check_addrs(addrs: &[String]) -> Result<(), String> {
    if addrs.is_empty() || addrs.len() > MEMBER_ADDRS_MAX {
        return Err(format!(
            "a node needs 1 to {MEMBER_ADDRS_MAX} addresses, got {}",
            addrs.len()
        ));
    }
    for a in addrs {
        if a.is_empty() || a.len() > ADDR_CHARS_MAX || !a.starts_with('/') {
            return Err(format!(
                "address {a:?} is not a multiaddr of at most {ADDR_CHARS_MAX} bytes"
            ));
        }
        if a.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(format!(
                "address {a:?} contains whitespace or control characters"
            ));
        }
    }
    Ok(())
}
