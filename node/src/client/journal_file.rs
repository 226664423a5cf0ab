//! The client's write journal on disk (see `overlay::dbqs::journal`): beside the credential
//! file as `<credential>.journal`, replaced atomically (a temporary file renamed over it)
//! before a signed version is sent, mode 0600, and removed once no write is unsettled.
//!
//! It is not fsynced: it is written in the client's network loop before every write's store
//! phase, and an fsync there would serialise every operation of the connection behind the
//! disk. What it guards against is a process that ends (timeout, crash, kill) with a write
//! cut short, and the page cache survives that; a power cut of the client's machine in the
//! same window is not covered (docs/DESIGN-NOTES.md).

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use overlay::dbqs::journal::Journal;

use super::ClientError;

/// Where the journal of the client whose credential is at `credential` lives.
pub fn path_for(credential: &Path) -> PathBuf {
    let mut name = credential.as_os_str().to_owned();
    name.push(".journal");
    PathBuf::from(name)
}

/// Reads the journal at `path`; none there is an empty journal.
pub fn load(path: &Path) -> Result<Journal, ClientError> {
    match std::fs::read(path) {
        Ok(b) => Journal::from_bytes(&b).map_err(|e| {
            ClientError::Local(format!(
                "{}: {e} (the write journal: remove it only if no write of this client was cut short)",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Journal::default()),
        Err(e) => Err(ClientError::Local(format!(
            "cannot read the write journal {}: {e}",
            path.display()
        ))),
    }
}

/// Replaces the journal at `path` with `j` (removes it when `j` is empty).
pub fn save(path: &Path, j: &Journal) -> std::io::Result<()> {
    if j.is_empty() {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(&j.to_bytes())?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use overlay::id::Hash;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn a_journal_survives_a_reload_private_and_goes_when_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(&dir.path().join("alice.cred"));
        assert_eq!(load(&path).unwrap(), Journal::default());
        let mut j = Journal::default();
        j.signed(Hash([1; 32]), 7).unwrap();
        save(&path, &j).unwrap();
        assert_eq!(load(&path).unwrap().floor(&Hash([1; 32])), 7);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::write(&path, b"\xff\xff\xff\xff\xff").unwrap();
        assert!(
            load(&path).is_err(),
            "a corrupt journal is an error, not empty"
        );
        j.settled(&Hash([1; 32]), 7);
        save(&path, &j).unwrap();
        assert!(!path.exists());
    }
}
