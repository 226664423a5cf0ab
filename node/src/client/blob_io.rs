//! Large values as chunks: storing reads the input one chunk at a time and keeps a few chunk
//! writes in flight; fetching keeps a few chunk reads in flight and writes them in order.
//! Memory stays at about `WINDOW` chunks whatever the value's size.

use futures::{StreamExt, TryStreamExt, stream};
use overlay::dbqs::blob::{Blob, CHUNK_BYTES, INLINE_BYTES_MAX, Manifest};
use overlay::id::Hash;
use sha2::{Digest, Sha256};

use super::{Client, ClientError};

/// Chunk operations in flight.
pub const WINDOW: usize = 4;

fn read_chunk<R: std::io::Read>(reader: &mut R) -> Result<Vec<u8>, ClientError> {
    let mut buf = vec![0u8; CHUNK_BYTES];
    let mut len = 0;
    while len < buf.len() {
        match reader.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ClientError::Local(format!("reading the input: {e}"))),
        }
    }
    buf.truncate(len);
    Ok(buf)
}

/// Stores the input: inline if it fits in one chunk, else as chunks under a manifest.
pub async fn store<R: std::io::Read>(
    client: &Client,
    mut reader: R,
    progress: &dyn Fn(u64),
) -> Result<Blob, ClientError> {
    let first = read_chunk(&mut reader)?;
    if first.len() < INLINE_BYTES_MAX {
        progress(first.len() as u64);
        return Ok(Blob::Inline(first));
    }
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut pending = Some(first);
    let chunks = stream::poll_fn(|_| {
        let next = match pending.take() {
            Some(c) => Ok(c),
            None => read_chunk(&mut reader),
        };
        std::task::Poll::Ready(match next {
            Ok(c) if c.is_empty() => None,
            Ok(c) => {
                hasher.update(&c);
                size += c.len() as u64;
                Some(Ok(c))
            }
            Err(e) => Some(Err(e)),
        })
    });
    let mut ids: Vec<Hash> = Vec::new();
    let mut stored = 0u64;
    let mut puts = chunks
        .map_ok(|c| async move {
            let len = c.len() as u64;
            client.put_raw_content(c).await.map(|id| (id, len))
        })
        .try_buffered(WINDOW);
    while let Some((id, len)) = puts.try_next().await? {
        ids.push(id);
        stored += len;
        progress(stored);
    }
    drop(puts);
    Ok(Blob::Chunked(Manifest {
        size,
        chunk_bytes: CHUNK_BYTES as u32,
        chunks: ids,
        digest: Hash(hasher.finalize().into()),
    }))
}

/// Writes the value `blob` describes to `writer`; returns its length.
pub async fn fetch<W: std::io::Write>(
    client: &Client,
    blob: &Blob,
    mut writer: W,
    progress: &dyn Fn(u64, u64),
) -> Result<u64, ClientError> {
    let write_err = |e: std::io::Error| ClientError::Local(format!("writing the output: {e}"));
    let m = match blob {
        Blob::Inline(bytes) => {
            writer.write_all(bytes).map_err(write_err)?;
            writer.flush().map_err(write_err)?;
            progress(bytes.len() as u64, bytes.len() as u64);
            return Ok(bytes.len() as u64);
        }
        Blob::Chunked(m) => m,
    };
    let mut hasher = Sha256::new();
    let mut done = 0u64;
    let mut gets = stream::iter(m.chunks.iter().copied().enumerate())
        .map(|(i, id)| async move {
            match client.get_raw_content(id).await? {
                Some(c) => Ok((i, c)),
                None => Err(ClientError::Corrupt(format!(
                    "chunk {i} ({}) is held by no replica",
                    id.short()
                ))),
            }
        })
        .buffered(WINDOW);
    while let Some((i, chunk)) = gets.try_next().await? {
        if chunk.len() != m.chunk_len(i) {
            return Err(ClientError::Corrupt(format!(
                "chunk {i} has {} bytes, the manifest says {}",
                chunk.len(),
                m.chunk_len(i)
            )));
        }
        hasher.update(&chunk);
        writer.write_all(&chunk).map_err(write_err)?;
        done += chunk.len() as u64;
        progress(done, m.size);
    }
    writer.flush().map_err(write_err)?;
    if Hash(hasher.finalize().into()) != m.digest {
        return Err(ClientError::Corrupt(
            "the reassembled value does not match the manifest's digest".into(),
        ));
    }
    Ok(done)
}
