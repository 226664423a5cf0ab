//! This node's share of the MS key on disk: `ms.share` in the data directory (mode 0600),
//! replaced at every handover that gives the node a new share and erased when it leaves the
//! MS group. The genesis share arrives inside the bundle; the first handover removes it from
//! the bundle kept in the data directory.

use std::path::{Path, PathBuf};

use bootstrap::bundle::{self, Bundle};
use bootstrap::files::{self, Overwrite};
use overlay::threshold::KeyPackage;
use tracing::{info, warn};

const SHARE_FILE: &str = "ms.share";
const SHARE_BYTES_MAX: usize = 64 * 1024;

/// Where the share lives.
#[derive(Debug, Clone)]
pub struct ShareStore {
    path: PathBuf,
    bundle: PathBuf,
}

impl ShareStore {
    /// The store in `data_dir`, whose kept bundle is `bundle`.
    pub fn new(data_dir: &Path, bundle: &Path) -> ShareStore {
        ShareStore {
            path: data_dir.join(SHARE_FILE),
            bundle: bundle.to_path_buf(),
        }
    }

    /// The newest share: the file's, else the bundle's.
    pub fn load(&self, genesis: &Bundle) -> anyhow::Result<Option<KeyPackage>> {
        let bytes = if self.path.exists() {
            Some(files::read_bounded(&self.path, SHARE_BYTES_MAX)?)
        } else {
            genesis.share.clone()
        };
        bytes
            .map(|b| {
                KeyPackage::deserialize(&b)
                    .map_err(|e| anyhow::anyhow!("{}: not a key share: {e}", self.path.display()))
            })
            .transpose()
    }

    /// Replaces the share with `key`.
    pub fn replace(&self, key: &KeyPackage) -> anyhow::Result<()> {
        let bytes = key
            .serialize()
            .map_err(|e| anyhow::anyhow!("cannot encode the key share: {e}"))?;
        files::write_secret(&self.path, &bytes, Overwrite::Replace)?;
        self.strip_bundle();
        info!("new MS key share stored; the old one is erased");
        Ok(())
    }

    /// Erases the share: this node left the MS group.
    pub fn erase(&self) {
        if self.path.exists()
            && let Err(e) = std::fs::remove_file(&self.path)
        {
            warn!(error = %e, "cannot erase the old MS key share");
        }
        self.strip_bundle();
    }

    /// The genesis share must not outlive the first handover.
    fn strip_bundle(&self) {
        let Ok(mut b) = bundle::read(&self.bundle) else {
            return;
        };
        if b.share.take().is_some()
            && let Err(e) = bundle::write(&self.bundle, &b, Overwrite::Replace)
        {
            warn!(error = %e, "cannot remove the genesis share from the kept bundle");
        }
    }
}
