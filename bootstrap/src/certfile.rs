//! Certificate files: the line `rampart-certificate/1`, then the certificate's canonical
//! encoding. Public (mode 0644): a certificate grants nothing without the matching secret key.

use std::path::Path;

use overlay::cert::{CertBody, Certificate};
use overlay::constants::CERT_BYTES_MAX;
use overlay::crypto::PublicKey;
use overlay::time::Timestamp;

use crate::files::{self, FileError, Overwrite};

const MAGIC: &str = "rampart-certificate/1";

/// Writes `cert` to `path`.
pub fn write(path: &Path, cert: &Certificate, ow: Overwrite) -> Result<(), FileError> {
    files::write_public(path, &files::with_magic(MAGIC, &cert.to_bytes()), ow)
}

/// Reads and decodes a certificate file; does not verify it.
pub fn read(path: &Path) -> Result<Certificate, FileError> {
    let bytes = files::read_bounded(path, CERT_BYTES_MAX + MAGIC.len() + 1)?;
    parse(&bytes).map_err(|reason| FileError::new(path, reason))
}

/// Decodes the bytes of a certificate file (magic line and all); does not verify it. The
/// error is the reason, without the file name.
pub fn parse(bytes: &[u8]) -> Result<Certificate, String> {
    let body = files::magic_body(MAGIC, bytes)?;
    Certificate::from_bytes(body).map_err(|e| format!("not a valid certificate: {e}"))
}

/// Reads a certificate file and verifies it against `authority` at `now`.
pub fn read_verified(
    path: &Path,
    authority: &PublicKey,
    now: Timestamp,
) -> Result<Certificate, FileError> {
    let cert = read(path)?;
    cert.verify(authority, now)
        .map_err(|e| FileError::new(path, e.to_string()))?;
    Ok(cert)
}

/// Reads a verified certificate that must be of one kind (`add`, `remove`, ...).
pub fn read_kind(
    path: &Path,
    kind: &str,
    authority: &PublicKey,
    now: Timestamp,
) -> Result<Certificate, FileError> {
    let cert = read_verified(path, authority, now)?;
    let got = cert.content.body.kind();
    if got != kind {
        return Err(FileError::new(
            path,
            format!("a {got} certificate, expected {kind}"),
        ));
    }
    Ok(cert)
}

/// A one-line summary of a certificate's statement for listings.
pub fn describe(body: &CertBody) -> String {
    match body {
        CertBody::Add { node, addrs } => format!(
            "add node {} at {}",
            overlay::id::NodeId::of(node).0.short(),
            addrs.join(" ")
        ),
        CertBody::Remove { node } => format!("remove node {}", node.0.short()),
        CertBody::Client { key, name, caps } => format!(
            "client {name:?} key {} caps {caps}",
            overlay::id::ClientId::of(key).0.short()
        ),
        CertBody::Revoke { client } => format!("revoke client {}", client.0.short()),
    }
}
