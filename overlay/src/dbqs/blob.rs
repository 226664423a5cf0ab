//! How an app's value is laid out in objects: small values inline, large ones as
//! content-addressed chunks under a manifest. The manifest is itself a value, so for a keyed
//! object the owner's signature covers it and every chunk's hash.
//!
//! Chunks are plain content objects; a [`Blob`] is what a keyed version's value (and a
//! top-level content object) holds.

use serde::{Deserialize, Serialize};

use super::object::VALUE_BYTES_MAX;
use super::replica::CONTENT_BYTES_MAX;
use crate::encoding::{decode, encode};
use crate::id::Hash;

/// The chunk size clients use for large values.
pub const CHUNK_BYTES: usize = 1024 * 1024;
/// The largest value stored inline; larger values are chunked.
pub const INLINE_BYTES_MAX: usize = CHUNK_BYTES;
/// The largest value a manifest may describe (1 TiB).
pub const BLOB_BYTES_MAX: u64 = 1 << 40;

/// A value as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Blob {
    /// The bytes themselves.
    Inline(Vec<u8>),
    /// The bytes in chunks.
    Chunked(Manifest),
}

/// The chunks of a large value, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The value's length in bytes.
    pub size: u64,
    /// Every chunk's length but the last's.
    pub chunk_bytes: u32,
    /// The chunks' content ids.
    pub chunks: Vec<Hash>,
    /// SHA-256 of the whole value, checked after reassembly.
    pub digest: Hash,
}

impl Manifest {
    /// Checks that the manifest is self-consistent and within bounds.
    pub fn check(&self) -> Result<(), String> {
        if self.chunk_bytes == 0 || self.chunk_bytes as usize > CONTENT_BYTES_MAX {
            return Err(format!(
                "chunk size {} is not between 1 and {CONTENT_BYTES_MAX}",
                self.chunk_bytes
            ));
        }
        if self.size > BLOB_BYTES_MAX {
            return Err(format!(
                "a value of {} bytes, at most {BLOB_BYTES_MAX}",
                self.size
            ));
        }
        let want = self.size.div_ceil(u64::from(self.chunk_bytes));
        if self.chunks.len() as u64 != want {
            return Err(format!(
                "{} chunks listed, a value of {} bytes in chunks of {} has {want}",
                self.chunks.len(),
                self.size,
                self.chunk_bytes
            ));
        }
        Ok(())
    }

    /// The length of chunk `i`.
    pub fn chunk_len(&self, i: usize) -> usize {
        let start = i as u64 * u64::from(self.chunk_bytes);
        (self.size.saturating_sub(start)).min(u64::from(self.chunk_bytes)) as usize
    }
}

impl Blob {
    /// The stored encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes and checks a stored value; the error says what is wrong with it.
    pub fn from_bytes(bytes: &[u8]) -> Result<Blob, String> {
        let blob: Blob = decode(bytes, VALUE_BYTES_MAX.max(CONTENT_BYTES_MAX) + 16)
            .map_err(|e| format!("not a value this store writes: {e}"))?;
        if let Blob::Chunked(m) = &blob {
            m.check().map_err(|e| format!("malformed manifest: {e}"))?;
        }
        Ok(blob)
    }

    /// The value's length.
    pub fn size(&self) -> u64 {
        match self {
            Blob::Inline(b) => b.len() as u64,
            Blob::Chunked(m) => m.size,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(size: u64, chunks: usize) -> Manifest {
        Manifest {
            size,
            chunk_bytes: CHUNK_BYTES as u32,
            chunks: vec![Hash([7; 32]); chunks],
            digest: Hash([1; 32]),
        }
    }

    #[test]
    fn a_manifest_must_list_exactly_the_chunks_its_size_needs() {
        let size = 3 * CHUNK_BYTES as u64 + 1;
        assert!(manifest(size, 4).check().is_ok());
        assert!(manifest(size, 3).check().is_err());
        assert!(manifest(size, 5).check().is_err());
        assert_eq!(manifest(size, 4).chunk_len(3), 1);
        assert_eq!(manifest(size, 4).chunk_len(0), CHUNK_BYTES);
    }

    #[test]
    fn bad_manifests_and_garbage_are_refused_with_a_reason() {
        let mut m = manifest(10, 1);
        m.chunk_bytes = 0;
        let e = Blob::from_bytes(&Blob::Chunked(m).to_bytes()).unwrap_err();
        assert!(e.contains("malformed manifest"), "{e}");
        let e = Blob::from_bytes(&[9, 9, 9]).unwrap_err();
        assert!(e.contains("not a value"), "{e}");
        let big = manifest(BLOB_BYTES_MAX + 1, 0);
        assert!(Blob::from_bytes(&Blob::Chunked(big).to_bytes()).is_err());
        let ok = Blob::Inline(b"hi".to_vec());
        assert_eq!(Blob::from_bytes(&ok.to_bytes()).unwrap(), ok);
    }
}
