//! An admission to a running system: the authority's `Add` certificate for one node, with the
//! two public keys that node needs to trust what its bootstrap peers tell it, the authority's
//! and the MS's (which never changes). Written by `rampart admin add-node --admission` once the
//! admin has made genesis; read by `rampart node start --admission`.
//!
//! Format: the line `rampart-admission/1`, then the canonical encoding of [`Admission`].
//! Nothing in it is secret (mode 0644).

use std::path::Path;

use overlay::cert::{CertBody, Certificate};
use overlay::constants::CERT_BYTES_MAX;
use overlay::crypto::PublicKey;
use overlay::encoding::{decode, encode};
use overlay::time::Timestamp;
use serde::{Deserialize, Serialize};

use crate::files::{self, FileError, Overwrite};

const MAGIC: &str = "rampart-admission/1";
const ADMISSION_BYTES_MAX: usize = CERT_BYTES_MAX + 256;

/// A node's admission to a running system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admission {
    /// The authority's `Add` certificate for the node.
    pub cert: Certificate,
    /// The authority's public key.
    pub authority: PublicKey,
    /// The MS public key every epoch certificate verifies under.
    pub ms_key: PublicKey,
}

impl Admission {
    /// The admitted node's public key.
    pub fn node(&self) -> Option<PublicKey> {
        match &self.cert.content.body {
            CertBody::Add { node, .. } => Some(*node),
            _ => None,
        }
    }
}

/// Writes an admission.
pub fn write(path: &Path, a: &Admission, ow: Overwrite) -> Result<(), FileError> {
    files::write_public(path, &files::with_magic(MAGIC, &encode(a)), ow)
}

/// Reads an admission and checks that its certificate is an `Add` the authority signed,
/// valid at `now`.
pub fn read(path: &Path, now: Timestamp) -> Result<Admission, FileError> {
    let bytes = files::read_bounded(path, ADMISSION_BYTES_MAX + MAGIC.len() + 1)?;
    parse(&bytes, now).map_err(|reason| FileError::new(path, reason))
}

/// Decodes the bytes of an admission file (magic line and all) and checks it as [`read`]
/// does. The error is the reason, without the file name.
pub fn parse(bytes: &[u8], now: Timestamp) -> Result<Admission, String> {
    let body = files::magic_body(MAGIC, bytes)?;
    let a: Admission =
        decode(body, ADMISSION_BYTES_MAX).map_err(|e| format!("not a valid admission: {e}"))?;
    a.cert
        .verify(&a.authority, now)
        .map_err(|e| format!("admission certificate refused: {e}"))?;
    if a.node().is_none() {
        return Err(format!(
            "a {} certificate, not an add",
            a.cert.content.body.kind()
        ));
    }
    Ok(a)
}
