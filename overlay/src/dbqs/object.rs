//! Objects and versions: names, the signed statement a version is, and the order of versions.

use serde::{Deserialize, Serialize};

use crate::cert::Certificate;
use crate::crypto::{self, PublicKey, SecretKey, Signature};
use crate::encoding::Domain;
use crate::id::Hash;

/// The largest value stored inline in one version (larger values are chunked by the host
/// into content objects under a manifest).
pub const VALUE_BYTES_MAX: usize = 4 * 1024 * 1024;
/// The longest object name.
pub const NAME_BYTES_MAX: usize = 1024;

/// The id of a content object: SHA-256 of its bytes.
pub fn content_id(bytes: &[u8]) -> Hash {
    Hash::of(&[bytes])
}

/// The id of a keyed object: SHA-256(owner key ‖ name).
pub fn keyed_id(owner: &PublicKey, name: &[u8]) -> Hash {
    Hash::of(&[owner.as_bytes(), name])
}

/// Where a version stands in the order of an object's versions: by number, and between two
/// versions with one number (two writers with one owner key racing) by the digest of what they
/// say, so every replica and client orders them alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VersionKey {
    /// The version number; 0 is "never written".
    pub number: u64,
    /// The digest of the value (or of the tombstone).
    pub digest: Hash,
}

impl VersionKey {
    /// Below every written version.
    pub const NONE: VersionKey = VersionKey {
        number: 0,
        digest: Hash([0; 32]),
    };
}

/// What the owner signs for one version of a keyed object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// The owner.
    pub owner: PublicKey,
    /// The object's name under the owner.
    pub name: Vec<u8>,
    /// The version number, from 1.
    pub number: u64,
    /// The digest of the value, or of the tombstone for a delete.
    pub digest: Hash,
}

impl Domain for Stamp {
    const DOMAIN: &'static str = "dbqs-version";
}

/// The digest a value is signed by.
pub fn value_digest(value: Option<&[u8]>) -> Hash {
    match value {
        Some(v) => Hash::of(&[b"rampart/v1/dbqs-value\0", v]),
        None => Hash::of(&[b"rampart/v1/dbqs-tombstone"]),
    }
}

/// One signed version of a keyed object: a value, or a tombstone (`value: None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// The signed statement.
    pub stamp: Stamp,
    /// The owner's signature over it.
    pub sig: Signature,
    /// The value; `None` deletes the object.
    pub value: Option<Vec<u8>>,
    /// The owner's client certificate, which replicas check grants `put`: it travels with
    /// the version so that a reader writing the version back proves the owner may store,
    /// and a key that is no client's cannot store through a reader. Not covered by the
    /// owner's signature (the authority signs it).
    pub credential: Option<Box<Certificate>>,
}

/// Why a version is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadVersion {
    /// The owner's signature does not verify.
    #[error("the owner's signature does not verify")]
    Signature,
    /// The value is not the one signed.
    #[error("the value is not the one the owner signed")]
    Digest,
    /// Number 0, or a name or value over the bounds.
    #[error("malformed: {0}")]
    Malformed(String),
    /// Not a version of the object asked for.
    #[error("a version of another object")]
    OtherObject,
}

impl Version {
    /// Signs `value` (or a tombstone) as version `number` of `name` under `owner`.
    pub fn sign(owner: &SecretKey, name: &[u8], number: u64, value: Option<Vec<u8>>) -> Version {
        let stamp = Stamp {
            owner: owner.public(),
            name: name.to_vec(),
            number,
            digest: value_digest(value.as_deref()),
        };
        Version {
            sig: owner.sign(&stamp),
            stamp,
            value,
            credential: None,
        }
    }

    /// The version with the owner's certificate attached.
    pub fn with_credential(mut self, cert: Certificate) -> Version {
        self.credential = Some(Box::new(cert));
        self
    }

    /// The object this is a version of.
    pub fn id(&self) -> Hash {
        keyed_id(&self.stamp.owner, &self.stamp.name)
    }

    /// Its place in the object's order.
    pub fn key(&self) -> VersionKey {
        VersionKey {
            number: self.stamp.number,
            digest: self.stamp.digest,
        }
    }

    /// Checks bounds, the value's digest and the owner's signature.
    pub fn verify(&self) -> Result<(), BadVersion> {
        if self.stamp.number == 0 {
            return Err(BadVersion::Malformed("version 0".into()));
        }
        if self.stamp.name.len() > NAME_BYTES_MAX {
            return Err(BadVersion::Malformed(format!(
                "a name of {} bytes, at most {NAME_BYTES_MAX}",
                self.stamp.name.len()
            )));
        }
        if let Some(v) = &self.value
            && v.len() > VALUE_BYTES_MAX
        {
            return Err(BadVersion::Malformed(format!(
                "a value of {} bytes, at most {VALUE_BYTES_MAX}",
                v.len()
            )));
        }
        if value_digest(self.value.as_deref()) != self.stamp.digest {
            return Err(BadVersion::Digest);
        }
        crypto::verify(&self.stamp.owner, &self.stamp, &self.sig).map_err(|_| BadVersion::Signature)
    }

    /// Checks it as a version of object `id`.
    pub fn verify_for(&self, id: &Hash) -> Result<(), BadVersion> {
        if self.id() != *id {
            return Err(BadVersion::OtherObject);
        }
        self.verify()
    }
}
