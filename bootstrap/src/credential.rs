//! A client's credential file: its secret key and its certificate together, so an app needs
//! one file. Mode 0600: it holds the secret key.
//!
//! Format: the line `rampart-credential/1`, then the canonical encoding of [`CredentialBody`].

use std::path::Path;

use overlay::cert::{CertBody, Certificate};
use overlay::constants::CERT_BYTES_MAX;
use overlay::crypto::SecretKey;
use overlay::encoding::{decode, encode};
use serde::{Deserialize, Serialize};

use crate::files::{self, FileError, Overwrite};

const MAGIC: &str = "rampart-credential/1";

#[derive(Serialize, Deserialize)]
struct CredentialBody {
    seed: [u8; 32],
    cert: Certificate,
}

/// A client's key and certificate.
pub struct Credential {
    /// The client's secret key.
    pub key: SecretKey,
    /// Its authority-signed client certificate.
    pub cert: Certificate,
}

/// Writes a credential (mode 0600).
pub fn write(path: &Path, cred: &Credential, ow: Overwrite) -> Result<(), FileError> {
    let body = CredentialBody {
        seed: cred.key.seed(),
        cert: cred.cert.clone(),
    };
    files::write_secret(path, &files::with_magic(MAGIC, &encode(&body)), ow)
}

/// Reads a credential and checks that the key matches the certificate. Verifying the
/// certificate against the authority is the replicas' job and the caller's choice.
pub fn read(path: &Path) -> Result<Credential, FileError> {
    let bytes = files::read_bounded(path, CERT_BYTES_MAX + 64 + MAGIC.len() + 1)?;
    parse(&bytes).map_err(|reason| FileError::new(path, reason))
}

/// Decodes the bytes of a credential file (magic line and all) and checks that the key
/// matches the certificate. The error is the reason, without the file name.
pub fn parse(bytes: &[u8]) -> Result<Credential, String> {
    let body = files::magic_body(MAGIC, bytes)?;
    let body: CredentialBody =
        decode(body, CERT_BYTES_MAX + 64).map_err(|e| format!("not a valid credential: {e}"))?;
    let key = SecretKey::from_seed(&body.seed);
    match &body.cert.content.body {
        CertBody::Client { key: k, .. } if *k == key.public() => {}
        CertBody::Client { .. } => {
            return Err("the certificate is for another key".into());
        }
        other => {
            return Err(format!("holds a {} certificate", other.kind()));
        }
    }
    Ok(Credential {
        key,
        cert: body.cert,
    })
}
