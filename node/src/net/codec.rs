//! One framing for every request-response protocol: a 4-byte big-endian length, then the
//! canonical encoding. Lengths are checked against the message type's bound before anything
//! is read, so a peer cannot make us buffer more than one maximal message.

use std::io;
use std::marker::PhantomData;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use overlay::dbqs::wire::{
    STORE_REPLY_BYTES_MAX, STORE_REQUEST_BYTES_MAX, StoreReply, StoreRequest,
};
use overlay::encoding::{DecodeError, decode, encode};
use overlay::pbft::{MESSAGE_BYTES_MAX, OP_BYTES_MAX, Signed, SignedReply, SignedRequest};
use overlay::threshold::session::{HolderReply, PACKAGE_BYTES_MAX, SignMsg};
use overlay::transfer::wire::{
    TRANSFER_REPLY_BYTES_MAX, TRANSFER_REQUEST_BYTES_MAX, TransferReply, TransferRequest,
};
use overlay::wire::{REQUEST_BYTES_MAX, RESPONSE_BYTES_MAX, Request, Response};
use serde::{Serialize, de::DeserializeOwned};

/// Status and configuration exchange.
pub const CONTROL: StreamProtocol = StreamProtocol::new("/rampart/control/1");
/// PBFT messages between replicas.
pub const PBFT: StreamProtocol = StreamProtocol::new("/rampart/pbft/1");
/// Client requests to the ordering service, answered with the replica's reply.
pub const ORDER: StreamProtocol = StreamProtocol::new("/rampart/order/1");
/// Threshold signing rounds between a coordinator and the MS key holders.
pub const TSIG: StreamProtocol = StreamProtocol::new("/rampart/tsig/1");
/// State transfer between replicas.
pub const TRANSFER: StreamProtocol = StreamProtocol::new("/rampart/transfer/1");

/// A message type with its size bound.
pub trait Wire: Sized + Send + Serialize + DeserializeOwned {
    /// Largest encoding accepted.
    const MAX: usize;

    /// Decodes, bounded.
    fn from_wire(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode(bytes, Self::MAX)
    }
}

impl Wire for Request {
    const MAX: usize = REQUEST_BYTES_MAX;
}
impl Wire for Response {
    const MAX: usize = RESPONSE_BYTES_MAX;
}
impl Wire for Signed {
    const MAX: usize = MESSAGE_BYTES_MAX;
}
impl Wire for SignedRequest {
    const MAX: usize = OP_BYTES_MAX + 1024;
}
impl Wire for SignedReply {
    const MAX: usize = OP_BYTES_MAX + 1024;
}

impl Wire for SignMsg {
    const MAX: usize = PACKAGE_BYTES_MAX + 1024;
}
impl Wire for HolderReply {
    const MAX: usize = PACKAGE_BYTES_MAX + 1024;
}

impl Wire for StoreRequest {
    const MAX: usize = STORE_REQUEST_BYTES_MAX;
}
impl Wire for StoreReply {
    const MAX: usize = STORE_REPLY_BYTES_MAX;
}
impl Wire for TransferRequest {
    const MAX: usize = TRANSFER_REQUEST_BYTES_MAX;
}
impl Wire for TransferReply {
    const MAX: usize = TRANSFER_REPLY_BYTES_MAX;
}

/// What a codec reads and writes: a typed message, or one kept as bytes.
pub trait Frame: Sized + Send {
    /// Largest frame accepted.
    const MAX: usize;
    /// From a frame's bytes.
    fn from_frame(bytes: Vec<u8>) -> io::Result<Self>;
    /// To a frame's bytes.
    fn into_frame(self) -> Vec<u8>;
}

impl<M: Wire> Frame for M {
    const MAX: usize = M::MAX;

    fn from_frame(bytes: Vec<u8>) -> io::Result<M> {
        M::from_wire(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
    }

    fn into_frame(self) -> Vec<u8> {
        encode(&self)
    }
}

/// A message read but not decoded: decoding waits until its sender is known to be one it may
/// come from, so that bytes from anyone else cost a copy, never a decode. (A PBFT frame of
/// repeated requests, decoded, once cost seconds of CPU.)
pub struct Undecoded<M> {
    bytes: Vec<u8>,
    of: PhantomData<fn() -> M>,
}

impl<M: Wire> Undecoded<M> {
    /// `msg`, encoded.
    pub fn of(msg: &M) -> Undecoded<M> {
        Undecoded {
            bytes: encode(msg),
            of: PhantomData,
        }
    }

    /// The message, bounded as `M` is.
    pub fn decode(&self) -> Result<M, DecodeError> {
        M::from_wire(&self.bytes)
    }

    /// Its size.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether it has no bytes.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl<M> Clone for Undecoded<M> {
    fn clone(&self) -> Self {
        Undecoded {
            bytes: self.bytes.clone(),
            of: PhantomData,
        }
    }
}

impl<M> std::fmt::Debug for Undecoded<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Undecoded({} bytes)", self.bytes.len())
    }
}

impl<M: Wire> Frame for Undecoded<M> {
    const MAX: usize = M::MAX;

    fn from_frame(bytes: Vec<u8>) -> io::Result<Undecoded<M>> {
        Ok(Undecoded {
            bytes,
            of: PhantomData,
        })
    }

    fn into_frame(self) -> Vec<u8> {
        self.bytes
    }
}

/// The acknowledgement of a one-way message.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize)]
pub struct Ack;

impl Wire for Ack {
    const MAX: usize = 16;
}

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
    // Grow with what arrives rather than trusting the announced length: a peer that
    // announces a maximal frame and sends nothing costs nothing.
    let mut buf = Vec::with_capacity(len.min(64 * 1024));
    io.take(len as u64).read_to_end(&mut buf).await?;
    if buf.len() != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("frame ended after {} of {len} bytes", buf.len()),
        ));
    }
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

async fn read<M: Frame, T: AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<M> {
    M::from_frame(read_frame(io, M::MAX).await?)
}

/// Codec for a request type and a response type.
pub struct Codec<Req, Resp>(PhantomData<fn() -> (Req, Resp)>);

impl<Req, Resp> Default for Codec<Req, Resp> {
    fn default() -> Self {
        Codec(PhantomData)
    }
}

impl<Req, Resp> Clone for Codec<Req, Resp> {
    fn clone(&self) -> Self {
        Codec(PhantomData)
    }
}

#[async_trait::async_trait]
impl<Req: Frame + 'static, Resp: Frame + 'static> libp2p::request_response::Codec
    for Codec<Req, Resp>
{
    type Protocol = StreamProtocol;
    type Request = Req;
    type Response = Resp;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Req>
    where
        T: AsyncRead + Unpin + Send,
    {
        read(io).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Resp>
    where
        T: AsyncRead + Unpin + Send,
    {
        read(io).await
    }

    async fn write_request<T>(&mut self, _: &StreamProtocol, io: &mut T, req: Req) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &req.into_frame()).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Resp,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &res.into_frame()).await
    }
}

/// The control protocol's codec.
pub type ControlCodec = Codec<Request, Response>;
/// PBFT messages, acknowledged; decoded only once the sender is known to be a replica.
pub type PbftCodec = Codec<Undecoded<Signed>, Ack>;
/// Client requests and replies.
pub type OrderCodec = Codec<SignedRequest, SignedReply>;
/// Threshold signing: a round's request and the holder's answer.
pub type TsigCodec = Codec<SignMsg, HolderReply>;
/// State transfer's questions and answers.
pub type TransferCodec = Codec<TransferRequest, TransferReply>;

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
    fn a_frame_shorter_than_announced_is_an_error() {
        let mut frame = 1000u32.to_be_bytes().to_vec();
        frame.extend_from_slice(&[1, 2, 3]);
        let mut input = Cursor::new(frame);
        let err = futures::executor::block_on(read_frame(&mut input, 4096)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut frame = 5u32.to_be_bytes().to_vec();
        frame.extend_from_slice(&[0xff, 0xfe, 0xfd, 0xfc, 0xfb]);
        for codec in [0, 1, 2, 3, 4, 5, 6] {
            let mut input = Cursor::new(frame.clone());
            let bad = futures::executor::block_on(async {
                match codec {
                    0 => read::<Request, _>(&mut input).await.is_err(),
                    1 => read::<Signed, _>(&mut input).await.is_err(),
                    2 => read::<SignMsg, _>(&mut input).await.is_err(),
                    3 => read::<HolderReply, _>(&mut input).await.is_err(),
                    4 => read::<StoreRequest, _>(&mut input).await.is_err(),
                    6 => read::<TransferRequest, _>(&mut input).await.is_err(),
                    _ => read::<SignedRequest, _>(&mut input).await.is_err(),
                }
            });
            assert!(bad);
        }
    }

    #[test]
    fn a_pbft_frame_is_read_undecoded_and_decoded_only_when_asked() {
        let mut frame = 5u32.to_be_bytes().to_vec();
        frame.extend_from_slice(&[0xff, 0xfe, 0xfd, 0xfc, 0xfb]);
        let mut input = Cursor::new(frame);
        let raw = futures::executor::block_on(read::<Undecoded<Signed>, _>(&mut input))
            .expect("read without decoding");
        assert_eq!(raw.len(), 5);
        assert!(raw.decode().is_err(), "garbage fails once decoded");
        let mut oversized = (MESSAGE_BYTES_MAX as u32 + 1).to_be_bytes().to_vec();
        oversized.push(0);
        let mut input = Cursor::new(oversized);
        let err =
            futures::executor::block_on(read::<Undecoded<Signed>, _>(&mut input)).unwrap_err();
        assert_eq!(
            err.kind(),
            io::ErrorKind::InvalidData,
            "the bound holds undecoded too"
        );
    }
}
