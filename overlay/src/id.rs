//! Positions on the 256-bit ring and the ids that live there.
//!
//! Node ids and object ids are SHA-256 digests read as big-endian 256-bit numbers, so the
//! byte-wise order of the arrays is the numeric order on the ring.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::crypto::PublicKey;

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// SHA-256 of the concatenation of `parts`.
    pub fn of(parts: &[&[u8]]) -> Hash {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        Hash(h.finalize().into())
    }

    /// Lower-case hex of all 32 bytes.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The first 8 hex digits, for logs and tables.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }

    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Result<Hash, hex::FromHexError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out)?;
        Ok(Hash(out))
    }
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.short())
    }
}

impl std::fmt::Display for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// A point on the ring: 256 bits, big-endian.
pub type RingPos = Hash;

/// A node's identity: SHA-256 of its Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NodeId(pub Hash);

impl NodeId {
    /// The id of the node holding `key`.
    pub fn of(key: &PublicKey) -> NodeId {
        NodeId(Hash::of(&[b"rampart/v1/node-id\0", key.as_bytes()]))
    }
}

impl std::fmt::Debug for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "n:{}", self.0.short())
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_hex())
    }
}

/// An object's position: SHA-256 of its content, or of its owner key and name.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectId(pub Hash);

impl ObjectId {
    /// The id of a content object: the hash of its bytes.
    pub fn of_content(bytes: &[u8]) -> ObjectId {
        ObjectId(Hash::of(&[bytes]))
    }

    /// The id of a keyed object: the hash of its owner's key and its name.
    pub fn of_key(owner: &PublicKey, name: &[u8]) -> ObjectId {
        ObjectId(Hash::of(&[b"rampart/v1/keyed\0", owner.as_bytes(), name]))
    }
}

impl std::fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "o:{}", self.0.short())
    }
}

/// A client's identity: SHA-256 of its Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClientId(pub Hash);

impl ClientId {
    /// The id of the client holding `key`.
    pub fn of(key: &PublicKey) -> ClientId {
        ClientId(Hash::of(&[b"rampart/v1/client-id\0", key.as_bytes()]))
    }
}

impl std::fmt::Debug for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "c:{}", self.0.short())
    }
}

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_hex())
    }
}

/// An epoch number: configurations are numbered from 0 at genesis.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct Epoch(pub u64);

impl Epoch {
    /// The epoch after this one.
    pub fn next(self) -> Epoch {
        Epoch(self.0.saturating_add(1))
    }
}

impl std::fmt::Display for Epoch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}
