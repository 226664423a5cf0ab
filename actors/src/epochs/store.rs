//! Where the `Epochs` actor keeps the newest certified configuration, so a restarted node
//! resumes from it rather than from genesis.

use std::io::Write;
use std::path::{Path, PathBuf};

use overlay::config::Configuration;
use overlay::constants::CONFIG_BYTES_MAX;
use overlay::encoding::{decode, encode};
use overlay::epoch::EpochCert;

/// The store failed.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct StoreError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub reason: String,
}

/// The newest accepted configuration and certificate, in one file of the data directory.
#[derive(Debug, Clone)]
pub struct EpochStore {
    path: PathBuf,
}

impl EpochStore {
    /// A store in `data_dir`.
    pub fn new(data_dir: &Path) -> EpochStore {
        EpochStore {
            path: data_dir.join("epoch.current"),
        }
    }

    /// The stored configuration, if any. Its certificate is checked by the caller.
    pub fn load(&self) -> Result<Option<(Configuration, EpochCert)>, StoreError> {
        let err = |reason: String| StoreError {
            path: self.path.clone(),
            reason,
        };
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(err(e.to_string())),
        };
        let pair = decode(&bytes, CONFIG_BYTES_MAX + 1024).map_err(|e| err(e.to_string()))?;
        Ok(Some(pair))
    }

    /// Saves atomically and durably: temporary file, fsync, rename.
    pub fn save(&self, config: &Configuration, cert: &EpochCert) -> Result<(), StoreError> {
        let err = |reason: String| StoreError {
            path: self.path.clone(),
            reason,
        };
        let tmp = self.path.with_extension("tmp");
        let bytes = encode(&(config, cert));
        let mut f = std::fs::File::create(&tmp).map_err(|e| err(e.to_string()))?;
        f.write_all(&bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| err(e.to_string()))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| err(e.to_string()))
    }
}
