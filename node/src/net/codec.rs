//! The control protocol's codec: a 4-byte big-endian length, then the canonical encoding.
//! Lengths are checked against the bounds in `overlay::wire` before anything is read, so a
//! peer cannot make us buffer more than one maximal message.

use std::io;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use overlay::wire::{REQUEST_BYTES_MAX, RESPONSE_BYTES_MAX, Request, Response};

/// The protocol name, versioned.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/rampart/control/1");

/// Reads one length-prefixed frame of at most `max` bytes.
pub async fn read_frame<T: AsyncRead + Unpin + Send>(
    io: &mut T,
    max: usize,
) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes exceeds the limit of {max}"),
        ));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(buf)
}

/// Writes one length-prefixed frame.
pub async fn write_frame<T: AsyncWrite + Unpin + Send>(io: &mut T, bytes: &[u8]) -> io::Result<()> {
    let len = u32::try_from(bytes.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    io.write_all(&len.to_be_bytes()).await?;
    io.write_all(bytes).await?;
    io.close().await
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// Codec for [`Request`] / [`Response`].
#[derive(Debug, Clone, Default)]
pub struct Codec;

#[async_trait::async_trait]
impl libp2p::request_response::Codec for Codec {
    type Protocol = StreamProtocol;
    type Request = Request;
    type Response = Response;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Request>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = read_frame(io, REQUEST_BYTES_MAX).await?;
        Request::from_bytes(&bytes).map_err(invalid)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Response>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = read_frame(io, RESPONSE_BYTES_MAX).await?;
        Response::from_bytes(&bytes).map_err(invalid)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Request,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &req.to_bytes()).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Response,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &res.to_bytes()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::io::Cursor;

    #[test]
    fn an_oversized_length_is_refused_before_reading() {
        let mut input = Cursor::new(u32::MAX.to_be_bytes().to_vec());
        let err = futures::executor::block_on(read_frame(&mut input, 1024)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut frame = 5u32.to_be_bytes().to_vec();
        frame.extend_from_slice(&[0xff, 0xfe, 0xfd, 0xfc, 0xfb]);
        let mut input = Cursor::new(frame);
        let mut codec = Codec;
        let res = futures::executor::block_on(libp2p::request_response::Codec::read_request(
            &mut codec, &PROTOCOL, &mut input,
        ));
        assert!(res.is_err());
    }
}
