//! Reading and writing the files of a system: bounded reads, secret files with mode 0600
//! written atomically, and errors that name the file.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A file could not be read, written or understood.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub reason: String,
}

impl FileError {
    /// An error about `path`.
    pub fn new(path: &Path, reason: impl Into<String>) -> FileError {
        FileError {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}

/// Reads at most `max` bytes; a larger file is refused before it is read.
pub fn read_bounded(path: &Path, max: usize) -> Result<Vec<u8>, FileError> {
    let meta = std::fs::metadata(path).map_err(|e| FileError::new(path, e.to_string()))?;
    if !meta.is_file() {
        return Err(FileError::new(path, "not a regular file"));
    }
    if meta.len() > max as u64 {
        return Err(FileError::new(
            path,
            format!(
                "file is {} bytes, more than the {max} bytes allowed",
                meta.len()
            ),
        ));
    }
    std::fs::read(path).map_err(|e| FileError::new(path, e.to_string()))
}

/// Refuses `bytes` longer than `max`, with the reason [`read_bounded`] gives for such a file.
pub fn check_len(bytes: &[u8], max: usize) -> Result<(), String> {
    if bytes.len() > max {
        return Err(format!(
            "file is {} bytes, more than the {max} bytes allowed",
            bytes.len()
        ));
    }
    Ok(())
}

/// How to treat an existing file at the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// Refuse: the destination must not exist.
    Refuse,
    /// Replace it atomically.
    Replace,
}

/// Writes `bytes` to `path` with mode `mode`: into a new temporary file created with that
/// mode, synced, then renamed into place, so an existing file's looser mode never carries over
/// and a crash never leaves half a key.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32, ow: Overwrite) -> Result<(), FileError> {
    if ow == Overwrite::Refuse && path.exists() {
        return Err(FileError::new(
            path,
            "already exists; refusing to overwrite it",
        ));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| FileError::new(dir, e.to_string()))?;
    let name = path
        .file_name()
        .ok_or_else(|| FileError::new(path, "no file name"))?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = write_new(&tmp, bytes, mode).and_then(|()| {
        std::fs::rename(&tmp, path).map_err(|e| FileError::new(path, e.to_string()))
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn write_new(tmp: &Path, bytes: &[u8], mode: u32) -> Result<(), FileError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(tmp)
        .map_err(|e| FileError::new(tmp, e.to_string()))?;
    f.write_all(bytes)
        .map_err(|e| FileError::new(tmp, e.to_string()))?;
    f.sync_all().map_err(|e| FileError::new(tmp, e.to_string()))
}

/// Writes a secret (key, share, credential): mode 0600.
pub fn write_secret(path: &Path, bytes: &[u8], ow: Overwrite) -> Result<(), FileError> {
    write_atomic(path, bytes, 0o600, ow)
}

/// Writes a public file (certificate, public key, registry): mode 0644.
pub fn write_public(path: &Path, bytes: &[u8], ow: Overwrite) -> Result<(), FileError> {
    write_atomic(path, bytes, 0o644, ow)
}

/// A binary file: a one-line text magic naming its kind, then the canonical encoding.
pub fn with_magic(magic: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(magic.len() + 1 + body.len());
    out.extend_from_slice(magic.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}

/// Splits off and checks the magic line; the error says what the file seems to be instead.
pub fn strip_magic<'a>(path: &Path, magic: &str, bytes: &'a [u8]) -> Result<&'a [u8], FileError> {
    magic_body(magic, bytes).map_err(|reason| FileError::new(path, reason))
}

/// [`strip_magic`] on bytes that came from anywhere: the body after the magic line, or why
/// the bytes are not such a file.
pub fn magic_body<'a>(magic: &str, bytes: &'a [u8]) -> Result<&'a [u8], String> {
    let head = magic.as_bytes();
    if bytes.len() > head.len() && bytes.starts_with(head) && bytes[head.len()] == b'\n' {
        return Ok(&bytes[head.len() + 1..]);
    }
    let seen: String = bytes
        .iter()
        .take_while(|b| **b != b'\n')
        .take(40)
        .map(|b| {
            if b.is_ascii_graphic() || *b == b' ' {
                *b as char
            } else {
                '?'
            }
        })
        .collect();
    Err(format!("not a {magic} file (it starts with {seen:?})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn secrets_are_0600_even_over_a_looser_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        std::fs::write(&p, b"old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_secret(&p, b"new", Overwrite::Replace).unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        assert!(write_secret(&p, b"x", Overwrite::Refuse).is_err());
    }

    #[test]
    fn oversized_files_are_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big");
        std::fs::write(&p, vec![0u8; 100]).unwrap();
        let e = read_bounded(&p, 10).unwrap_err();
        assert!(e.to_string().contains("more than the 10 bytes"), "{e}");
    }
}
