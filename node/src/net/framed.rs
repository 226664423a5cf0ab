//! Frames for long-lived streams: many messages on one stream, each tagged with the id of the
//! request it belongs to, and a writer that sends what queued up while it was busy in one
//! write (one yamux frame, one Noise frame and one syscall for many messages).
//!
//! A frame is a 4-byte big-endian length, an 8-byte big-endian tag, then the canonical
//! encoding. The length is checked against the message type's bound before anything else is
//! read, as in [`codec`](super::codec).

use std::io;

use futures::{AsyncRead, AsyncWrite, AsyncWriteExt};
use overlay::encoding::encode;
use serde::Serialize;
use tokio::sync::mpsc;

use super::codec::{Wire, read_frame};

/// Bytes of the tag before each message.
const TAG_BYTES: usize = 8;
/// The writer gathers queued frames into one write up to about this many bytes.
pub const COALESCE_BYTES: usize = 256 * 1024;

/// `msg` tagged with `tag`, as one whole frame ready to write.
pub fn frame<M: Serialize>(tag: u64, msg: &M) -> io::Result<Vec<u8>> {
    let body = encode(msg);
    let len = u32::try_from(TAG_BYTES + body.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    let mut out = Vec::with_capacity(4 + TAG_BYTES + body.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&tag.to_be_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Reads one tagged frame holding an `M`.
pub async fn read_tagged<M: Wire, T: AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<(u64, M)> {
    let bytes = read_frame(io, TAG_BYTES + M::MAX).await?;
    let Some((tag, body)) = bytes.split_first_chunk::<TAG_BYTES>() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame shorter than its tag",
        ));
    };
    let msg = M::from_wire(body)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    Ok((u64::from_be_bytes(*tag), msg))
}

/// Writes every frame `frames` yields until all its senders are gone, coalescing those that
/// wait, then closes the writing side.
pub async fn write_coalesced<T: AsyncWrite + Unpin, F: AsRef<[u8]>>(
    io: &mut T,
    frames: &mut mpsc::Receiver<F>,
) -> io::Result<()> {
    let mut buf = Vec::new();
    while let Some(first) = frames.recv().await {
        buf.clear();
        buf.extend_from_slice(first.as_ref());
        while buf.len() < COALESCE_BYTES {
            match frames.try_recv() {
                Ok(more) => buf.extend_from_slice(more.as_ref()),
                Err(_) => break,
            }
        }
        io.write_all(&buf).await?;
        io.flush().await?;
    }
    io.close().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::io::Cursor;
    use overlay::dbqs::wire::StoreReply;

    #[test]
    fn a_frame_reads_back_with_its_tag() {
        let reply = StoreReply {
            epoch: overlay::id::Epoch(7),
            reply: overlay::dbqs::replica::Reply::Version(None),
        };
        let bytes = frame(42, &reply).unwrap();
        let mut input = Cursor::new(bytes);
        let (tag, back) =
            futures::executor::block_on(read_tagged::<StoreReply, _>(&mut input)).unwrap();
        assert_eq!(tag, 42);
        assert_eq!(back.epoch, reply.epoch);
    }

    #[test]
    fn a_frame_without_room_for_its_tag_is_an_error() {
        let mut bytes = 3u32.to_be_bytes().to_vec();
        bytes.extend_from_slice(&[1, 2, 3]);
        let mut input = Cursor::new(bytes);
        let err =
            futures::executor::block_on(read_tagged::<StoreReply, _>(&mut input)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn queued_frames_go_out_in_one_write_and_in_order() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(8);
            for i in 0..3u64 {
                tx.send(frame(i, &i).unwrap()).await.unwrap();
            }
            drop(tx);
            let mut out = Counting::default();
            write_coalesced(&mut out, &mut rx).await.unwrap();
            assert_eq!(out.writes, 1);
            let mut input = Cursor::new(out.bytes);
            for i in 0..3u64 {
                let (tag, _) = read_tagged::<u64, _>(&mut input).await.unwrap();
                assert_eq!(tag, i);
            }
        });
    }

    impl Wire for u64 {
        const MAX: usize = 16;
    }

    /// A sink that counts the writes it is given.
    #[derive(Default)]
    struct Counting {
        bytes: Vec<u8>,
        writes: usize,
    }

    impl AsyncWrite for Counting {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<io::Result<usize>> {
            self.writes += 1;
            self.bytes.extend_from_slice(buf);
            std::task::Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_close(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }
}
