//! The genesis bundle a node starts from: the authority and MS public keys, the epoch-0
//! configuration with its certificate, and, for members of the first MS group, their share of
//! the MS key. Mode 0600 (a share is a secret).
//!
//! Format: the line `rampart-genesis-bundle/1`, then the canonical encoding of [`Bundle`].

use std::path::Path;

use overlay::config::Configuration;
use overlay::constants::CONFIG_BYTES_MAX;
use overlay::crypto::PublicKey;
use overlay::encoding::{decode, encode};
use overlay::epoch::{EpochCert, EpochTracker};
use overlay::id::NodeId;
use overlay::time::Timestamp;
use serde::{Deserialize, Serialize};

use crate::files::{self, FileError, Overwrite};

const MAGIC: &str = "rampart-genesis-bundle/1";
const SHARE_BYTES_MAX: usize = 64 * 1024;
const BUNDLE_BYTES_MAX: usize = CONFIG_BYTES_MAX + 2 * SHARE_BYTES_MAX;

/// What a node needs to start in a new system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    /// The node this bundle is for.
    pub node: NodeId,
    /// The authority's public key: certificates are checked against it.
    pub authority: PublicKey,
    /// The MS public key: every epoch certificate is checked against it, forever.
    pub ms_key: PublicKey,
    /// The FROST public key package (every share's verifying key), serialised.
    pub ms_public: Vec<u8>,
    /// The epoch-0 configuration.
    pub config: Configuration,
    /// Its certificate.
    pub cert: EpochCert,
    /// This node's FROST key package, if it is in the first MS group.
    pub share: Option<Vec<u8>>,
    /// When genesis was made: the MS clock starts here.
    pub time: Timestamp,
}

impl Bundle {
    /// Checks that the certificate verifies under the MS key and signs this configuration,
    /// and that the share, if any, is for this node.
    pub fn check(&self) -> Result<(), String> {
        EpochTracker::new(self.ms_key, self.config.clone(), self.cert)
            .map_err(|e| e.to_string())?;
        if self
            .share
            .as_ref()
            .is_some_and(|s| s.len() > SHARE_BYTES_MAX)
        {
            return Err("key share too large".into());
        }
        if self.share.is_some() && !self.config.in_ms_group(&self.node) {
            return Err("holds a key share but the node is not in the MS group".into());
        }
        Ok(())
    }
}

/// Writes a bundle (mode 0600).
pub fn write(path: &Path, bundle: &Bundle, ow: Overwrite) -> Result<(), FileError> {
    files::write_secret(path, &files::with_magic(MAGIC, &encode(bundle)), ow)
}

/// Reads and checks a bundle.
pub fn read(path: &Path) -> Result<Bundle, FileError> {
    let bytes = files::read_bounded(path, BUNDLE_BYTES_MAX + MAGIC.len() + 1)?;
    parse(&bytes).map_err(|reason| FileError::new(path, reason))
}

/// Decodes and checks the bytes of a bundle file (magic line and all). The error is the
/// reason, without the file name.
pub fn parse(bytes: &[u8]) -> Result<Bundle, String> {
    let body = files::magic_body(MAGIC, bytes)?;
    let bundle: Bundle =
        decode(body, BUNDLE_BYTES_MAX).map_err(|e| format!("not a valid genesis bundle: {e}"))?;
    bundle
        .check()
        .map_err(|e| format!("genesis bundle refused: {e}"))?;
    Ok(bundle)
}
