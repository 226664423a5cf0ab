//! Key files: a node's or client's or the authority's Ed25519 secret key, as text.
//!
//! Format: the line `rampart-secret-key/1`, then the 32-byte seed in hex. Mode 0600.

use std::path::Path;

use overlay::crypto::{PublicKey, SecretKey, public_key_from_hex};

use crate::files::{self, FileError, Overwrite};

const MAGIC: &str = "rampart-secret-key/1";
const KEY_FILE_BYTES_MAX: usize = 1024;

/// Writes `key` to `path` (mode 0600).
pub fn write(path: &Path, key: &SecretKey, ow: Overwrite) -> Result<(), FileError> {
    let text = format!("{MAGIC}\n{}\n", hex::encode(key.seed()));
    files::write_secret(path, text.as_bytes(), ow)
}

/// Reads a secret key file.
pub fn read(path: &Path) -> Result<SecretKey, FileError> {
    let bytes = files::read_bounded(path, KEY_FILE_BYTES_MAX)?;
    parse(&bytes).map_err(|reason| FileError::new(path, reason))
}

/// Decodes the bytes of a secret key file (magic line and all). The error is the reason,
/// without the file name.
pub fn parse(bytes: &[u8]) -> Result<SecretKey, String> {
    files::check_len(bytes, KEY_FILE_BYTES_MAX)?;
    let body = files::magic_body(MAGIC, bytes)?;
    let text = std::str::from_utf8(body).map_err(|_| "not text".to_string())?;
    let mut seed = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut seed)
        .map_err(|_| "the key is not 64 hex digits".to_string())?;
    Ok(SecretKey::from_seed(&seed))
}

/// Decodes the bytes of a public key file (64 hex digits). The error is the reason,
/// without the file name.
pub fn parse_public(bytes: &[u8]) -> Result<PublicKey, String> {
    files::check_len(bytes, KEY_FILE_BYTES_MAX)?;
    let text = std::str::from_utf8(bytes).map_err(|_| "not text".to_string())?;
    public_key_from_hex(text)
}

/// Reads a public key given as 64 hex digits, or as the path of a file holding them (a `.pub`
/// file written by `rampart keygen`).
pub fn read_public(arg: &str) -> Result<PublicKey, FileError> {
    let path = Path::new(arg);
    if path.exists() {
        let bytes = files::read_bounded(path, KEY_FILE_BYTES_MAX)?;
        return parse_public(&bytes).map_err(|reason| FileError::new(path, reason));
    }
    public_key_from_hex(arg).map_err(|e| {
        let why = if arg.len() == 64 {
            format!("not a public key ({e})")
        } else {
            "no such file, and not a public key in hex (64 digits)".to_string()
        };
        FileError::new(path, why)
    })
}

/// Writes a public key file (hex, mode 0644).
pub fn write_public(path: &Path, key: &PublicKey, ow: Overwrite) -> Result<(), FileError> {
    files::write_public(
        path,
        format!("{}\n", hex::encode(key.as_bytes())).as_bytes(),
        ow,
    )
}
