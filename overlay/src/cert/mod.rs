//! Authority-signed certificates: node admission and removal, client credentials and
//! revocations (DESIGN.md §3).
//!
//! A certificate is a [`CertBody`] with an issue time and a validity window, signed by the
//! authority over its canonical encoding in the `certificate` domain. [`Certificate::verify`]
//! is a pure function of the certificate, the expected authority key and the current time.

mod body;
mod capability;
mod verify;

pub use body::{CertBody, check_addrs};
pub use capability::{Capabilities, Capability};
pub use verify::CertError;

use serde::{Deserialize, Serialize};

use crate::constants::CERT_BYTES_MAX;
use crate::crypto::{PublicKey, SecretKey, Signature};
use crate::encoding::{DecodeError, Domain, decode, domain_bytes, encode};
use crate::id::Hash;
use crate::time::Timestamp;

/// What the authority signs: the statement and when it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertContent {
    /// The statement.
    pub body: CertBody,
    /// When the authority issued it.
    pub issued_at: Timestamp,
    /// First second at which it is valid.
    pub not_before: Timestamp,
    /// Last second at which it is valid.
    pub not_after: Timestamp,
}

impl Domain for CertContent {
    const DOMAIN: &'static str = "certificate";
}

/// A signed certificate as it travels in files and messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// The signed statement.
    pub content: CertContent,
    /// The key that signed it; must be the system's authority.
    pub authority: PublicKey,
    /// The authority's signature over the content.
    pub signature: Signature,
}

impl Certificate {
    /// A client credential for `key` named `name`, granting `caps` from `not_before` to
    /// `not_after`.
    pub fn client(
        authority: &SecretKey,
        key: PublicKey,
        name: &str,
        caps: Capabilities,
        (not_before, not_after): (Timestamp, Timestamp),
    ) -> Certificate {
        let body = CertBody::Client {
            key,
            name: name.into(),
            caps,
        };
        Certificate::issue(
            authority,
            CertContent {
                body,
                issued_at: not_before,
                not_before,
                not_after,
            },
        )
    }

    /// Signs `content` with the authority's key.
    pub fn issue(authority: &SecretKey, content: CertContent) -> Certificate {
        let signature = authority.sign(&content);
        Certificate {
            content,
            authority: authority.public(),
            signature,
        }
    }

    /// A unique id: the hash of the signed bytes.
    pub fn id(&self) -> Hash {
        Hash::of(&[&domain_bytes(&self.content)])
    }

    /// The canonical encoding, as written to files and sent on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes a certificate, refusing oversize or malformed input. Does not verify it.
    pub fn from_bytes(bytes: &[u8]) -> Result<Certificate, DecodeError> {
        decode(bytes, CERT_BYTES_MAX)
    }

    /// Checks the certificate against the expected `authority` at time `now` and returns its
    /// statement. Checks run cheapest first; the signature is checked before the window so
    /// that an error about time is only given for a certificate the authority really signed.
    pub fn verify(&self, authority: &PublicKey, now: Timestamp) -> Result<&CertBody, CertError> {
        verify::verify(self, authority, now)
    }
}

#[cfg(test)]
mod tests;
