//! The client's write journal on disk (see `overlay::dbqs::journal`): beside the credential
//! file as `<credential>.journal`, mode 0600. Every change is a read-merge-write under an
//! exclusive lock on `<credential>.journal.lock`, replaced atomically (a temporary file
//! renamed over it): several processes of one client (writing different objects, as they
//! must) keep each other's entries, and an entry goes only once its own process saw its write
//! complete. The file is removed once no write is unsettled.
//!
//! It is not fsynced: it is written in the client's network loop before every write's store
//! phase, and an fsync there would serialise every operation of the connection behind the
//! disk. What it guards against is a process that ends (timeout, crash, kill) with a write
//! cut short, and the page cache survives that; a power cut of the client's machine in the
//! same window is not covered (docs/DESIGN-NOTES.md).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use overlay::dbqs::journal::Journal;
use overlay::id::Hash;

use super::ClientError;

/// Where the journal of the client whose credential is at `credential` lives.
pub fn path_for(credential: &Path) -> PathBuf {
    with_suffix(credential, ".journal")
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut name = p.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn private() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.read(true).write(true).create(true).mode(0o600);
    o
}

/// The journal at `path` and the lock that guards it.
pub struct JournalFile {
    path: PathBuf,
    lock: PathBuf,
    /// Numbers this process saw complete since it last wrote, per object: their entries go
    /// from the file at the next write (unless another process raised them).
    settled: BTreeMap<Hash, u64>,
}

impl JournalFile {
    /// The journal at `path`.
    pub fn new(path: PathBuf) -> JournalFile {
        let lock = with_suffix(&path, ".lock");
        JournalFile {
            path,
            lock,
            settled: BTreeMap::new(),
        }
    }

    /// Reads the journal; none there is an empty journal.
    pub fn load(&self) -> Result<Journal, ClientError> {
        let _guard = self.locked().map_err(|e| self.error("lock", e))?;
        read(&self.path)
    }

    /// Notes that this process saw version `number` of `id` complete.
    pub fn settled(&mut self, id: Hash, number: u64) {
        let e = self.settled.entry(id).or_insert(0);
        *e = (*e).max(number);
    }

    /// Writes this process's entries `own` merged with what is on disk (other processes'
    /// entries, and those of processes that ended), less what this process saw complete.
    pub fn save(&mut self, own: &Journal) -> Result<(), ClientError> {
        let _guard = self.locked().map_err(|e| self.error("lock", e))?;
        let mut disk = read(&self.path)?;
        for (id, n) in &self.settled {
            disk.settled(id, *n);
        }
        disk.merge(own);
        self.settled.clear();
        self.write(&disk).map_err(|e| self.error("write", e))
    }

    fn write(&self, j: &Journal) -> std::io::Result<()> {
        if j.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            };
        }
        let tmp = with_suffix(&self.path, ".tmp");
        let mut f = private().truncate(true).open(&tmp)?;
        f.write_all(&j.to_bytes())?;
        std::fs::rename(&tmp, &self.path)
    }

    /// Holds the lock until the returned file is dropped.
    fn locked(&self) -> std::io::Result<File> {
        let f = private().open(&self.lock)?;
        f.lock()?;
        Ok(f)
    }

    fn error(&self, what: &str, e: std::io::Error) -> ClientError {
        ClientError::Local(format!(
            "cannot {what} the write journal {}: {e}",
            self.path.display()
        ))
    }
}

fn read(path: &Path) -> Result<Journal, ClientError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn a_journal_survives_a_reload_private_and_goes_when_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(&dir.path().join("alice.cred"));
        let mut file = JournalFile::new(path.clone());
        assert_eq!(file.load().unwrap(), Journal::default());
        let mut j = Journal::default();
        j.signed(Hash([1; 32]), 7).unwrap();
        file.save(&j).unwrap();
        assert_eq!(file.load().unwrap().floor(&Hash([1; 32])), 7);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        j.settled(&Hash([1; 32]), 7);
        file.settled(Hash([1; 32]), 7);
        file.save(&j).unwrap();
        assert!(!path.exists());
        std::fs::write(&path, b"\xff\xff\xff\xff\xff").unwrap();
        assert!(
            file.load().is_err(),
            "a corrupt journal is an error, not empty"
        );
    }

    /// Two processes of one client, writing different objects: each keeps the other's entry,
    /// and an entry goes only when the process that wrote it saw its write complete.
    #[test]
    fn two_processes_of_one_client_keep_each_others_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(&dir.path().join("alice.cred"));
        let (mut a, mut b) = (
            JournalFile::new(path.clone()),
            JournalFile::new(path.clone()),
        );
        let (mut ja, mut jb) = (Journal::default(), Journal::default());
        ja.signed(Hash([1; 32]), 3).unwrap();
        a.save(&ja).unwrap();
        jb.signed(Hash([2; 32]), 5).unwrap();
        b.save(&jb).unwrap();
        let on_disk = a.load().unwrap();
        assert_eq!(
            (on_disk.floor(&Hash([1; 32])), on_disk.floor(&Hash([2; 32]))),
            (3, 5)
        );
        // B's write of object 2 completes; A's of object 1 does not.
        jb.settled(&Hash([2; 32]), 5);
        b.settled(Hash([2; 32]), 5);
        b.save(&jb).unwrap();
        let on_disk = a.load().unwrap();
        assert_eq!(
            (on_disk.floor(&Hash([1; 32])), on_disk.floor(&Hash([2; 32]))),
            (3, 0)
        );
    }
}
