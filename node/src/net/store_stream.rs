//! dBQS over long-lived streams. A client keeps one stream open to each replica it talks to
//! and sends every request on it, tagged; the replica answers on the same stream as its
//! answers are ready. Against one substream per request this saves a protocol negotiation
//! (a round trip), the substream's timers and a close per message, and replies that are ready
//! together leave in one write.
//!
//! Bounds at the replica: a peer holds at most [`STREAMS_PER_PEER_MAX`] store streams (all
//! peers together [`STREAMS_MAX`]), and a stream at most [`STREAM_INFLIGHT_MAX`] unanswered
//! requests: the stream is not read further until one is answered, so a client that floods
//! waits on its own stream. A frame's buffer grows with the bytes that arrive, not with the
//! length it announces.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{AsyncReadExt, StreamExt};
use libp2p::{PeerId, Stream, StreamProtocol};
use libp2p_stream::{Control, IncomingStreams};
use overlay::dbqs::wire::{StoreReply, StoreRequest};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tracing::debug;

use super::behaviour::STORE_STREAMS_MAX;
use super::framed::{frame, read_tagged, write_coalesced};

/// The long-lived dBQS protocol.
pub const STORE_STREAM: StreamProtocol = StreamProtocol::new("/rampart/store-stream/1");
/// Requests one stream may have unanswered at a replica.
pub const STREAM_INFLIGHT_MAX: usize = STORE_STREAMS_MAX;
/// Store streams one peer may hold open at a replica. A client process needs one, and an app
/// may run several processes under one credential (one peer id): the test cluster's load runs
/// five.
pub const STREAMS_PER_PEER_MAX: usize = 32;
/// Store streams a replica holds open in all; past it new ones are refused like a peer's
/// excess. Requests in flight have their own bound in the network task.
pub const STREAMS_MAX: usize = 4096;
/// Stream events waiting for the node's network task.
const INBOUND_QUEUE: usize = 1024;
/// Frames a client may queue for one replica before its requests fail as if unanswered.
const CLIENT_QUEUE: usize = 1024;
/// How long one attempt to open a client's stream may take (one round trip on a connection
/// that is up, a dial otherwise).
const OPEN_TIMEOUT: Duration = Duration::from_secs(1);
/// Attempts to open a client's stream before its queued requests fail.
const OPEN_ATTEMPTS: usize = 3;

/// What the replica's streams hand to the network task.
pub enum Inbound {
    /// A request, with where its answer goes.
    Request {
        /// The sender, authenticated by the connection.
        peer: PeerId,
        /// The request (boxed: it is large beside the other events).
        msg: Box<StoreRequest>,
        /// Where the answer goes.
        reply: Replier,
    },
    /// A stream sent a frame that does not decode, and was closed.
    BadFrame {
        /// The sender.
        peer: PeerId,
        /// What was wrong.
        error: String,
    },
    /// A peer opened more streams than it may hold; the new one was dropped.
    TooManyStreams {
        /// The peer.
        peer: PeerId,
    },
}

/// Where one request's answer goes. Holding it holds one of its stream's in-flight places,
/// and so does its answer until the writer has taken it: the stream never has more requests
/// and answers together than its answer queue has room for.
pub struct Replier {
    tag: u64,
    frames: mpsc::Sender<Placed>,
    place: OwnedSemaphorePermit,
}

/// An answer ready to write, still holding its request's place.
struct Placed {
    bytes: Vec<u8>,
    _place: OwnedSemaphorePermit,
}

impl AsRef<[u8]> for Placed {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Replier {
    /// Sends the answer; false when the stream has gone.
    pub fn send(self, reply: &StoreReply) -> bool {
        match frame(self.tag, reply) {
            // Never full: the queue has room for every place.
            Ok(bytes) => {
                let placed = Placed {
                    bytes,
                    _place: self.place,
                };
                self.frames.try_send(placed).is_ok()
            }
            Err(_) => false,
        }
    }
}

/// Starts accepting store streams; their requests arrive on the receiver.
pub fn accept(control: &mut Control) -> anyhow::Result<mpsc::Receiver<Inbound>> {
    let incoming = control
        .accept(STORE_STREAM)
        .map_err(|e| anyhow::anyhow!("cannot accept {STORE_STREAM}: {e}"))?;
    let (tx, rx) = mpsc::channel(INBOUND_QUEUE);
    tokio::spawn(accept_loop(incoming, tx));
    Ok(rx)
}

/// How many store streams are open, in all and per peer.
#[derive(Default)]
struct Counts {
    total: usize,
    per_peer: HashMap<PeerId, usize>,
}

type OpenCounts = Arc<Mutex<Counts>>;

/// One open stream counted against its peer and the total, released when dropped.
struct Open {
    counts: OpenCounts,
    peer: PeerId,
}

impl Open {
    fn take(counts: &OpenCounts, peer: PeerId) -> Option<Open> {
        let mut c = counts.lock().unwrap_or_else(|e| e.into_inner());
        if c.total >= STREAMS_MAX {
            return None;
        }
        let n = c.per_peer.entry(peer).or_default();
        if *n >= STREAMS_PER_PEER_MAX {
            return None;
        }
        *n += 1;
        c.total += 1;
        Some(Open {
            counts: counts.clone(),
            peer,
        })
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        c.total -= 1;
        if let Some(n) = c.per_peer.get_mut(&self.peer) {
            *n -= 1;
            if *n == 0 {
                c.per_peer.remove(&self.peer);
            }
        }
    }
}

async fn accept_loop(mut incoming: IncomingStreams, to_task: mpsc::Sender<Inbound>) {
    let counts = OpenCounts::default();
    while let Some((peer, stream)) = incoming.next().await {
        match Open::take(&counts, peer) {
            Some(open) => {
                tokio::spawn(serve_stream(peer, stream, to_task.clone(), open));
            }
            None => {
                let _ = to_task.try_send(Inbound::TooManyStreams { peer });
            }
        }
    }
}

async fn serve_stream(peer: PeerId, stream: Stream, to_task: mpsc::Sender<Inbound>, _open: Open) {
    let (mut reader, mut writer) = stream.split();
    let (frames_tx, mut frames_rx) = mpsc::channel(STREAM_INFLIGHT_MAX);
    let writing = tokio::spawn(async move {
        if let Err(e) = write_coalesced(&mut writer, &mut frames_rx).await {
            debug!("store stream write failed: {e}");
        }
    });
    let places = Arc::new(Semaphore::new(STREAM_INFLIGHT_MAX));
    loop {
        let Ok(place) = places.clone().acquire_owned().await else {
            break;
        };
        let (tag, msg) = match read_tagged::<StoreRequest, _>(&mut reader).await {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => {
                let error = e.to_string();
                let _ = to_task.send(Inbound::BadFrame { peer, error }).await;
                break;
            }
        };
        let reply = Replier {
            tag,
            frames: frames_tx.clone(),
            place,
        };
        if to_task
            .send(Inbound::Request {
                peer,
                msg: Box::new(msg),
                reply,
            })
            .await
            .is_err()
        {
            break;
        }
    }
    // Answers still being worked on keep the writer open until they are sent.
    drop(frames_tx);
    let _ = writing.await;
}

/// What a client's streams hand to its driver.
pub enum ClientEvent {
    /// An answer from `peer` to the request tagged `tag`.
    Reply {
        /// The replica, authenticated by the connection.
        peer: PeerId,
        /// The request's tag.
        tag: u64,
        /// The answer.
        reply: StoreReply,
    },
    /// Link `link` to `peer` failed or closed: its requests will not be answered.
    Closed {
        /// The replica.
        peer: PeerId,
        /// Which link.
        link: u64,
        /// Why.
        error: String,
    },
}

/// A client's stream to one replica.
pub struct Link {
    /// Which link this is, so that a late close of an old one is told apart.
    pub id: u64,
    frames: mpsc::Sender<Vec<u8>>,
}

impl Link {
    /// Opens a stream to `peer` (dialled already, or dialled by the stream behaviour).
    pub fn open(
        control: Control,
        peer: PeerId,
        id: u64,
        events: mpsc::Sender<ClientEvent>,
    ) -> Link {
        let (frames, rx) = mpsc::channel(CLIENT_QUEUE);
        tokio::spawn(run_link(control, peer, id, rx, events));
        Link { id, frames }
    }

    /// Queues `msg` tagged `tag`.
    pub fn send(&self, tag: u64, msg: &StoreRequest) -> Result<(), String> {
        let f = frame(tag, msg).map_err(|e| e.to_string())?;
        self.frames
            .try_send(f)
            .map_err(|e| format!("stream queue: {e}"))
    }
}

/// Opens the stream, trying again when an attempt fails or hangs. An attempt can hang for
/// good: `libp2p-stream` parks a request for a peer it does not yet count as connected until
/// the next connection to it, and a connection that came up on another thread a moment before
/// is never that one. Frames wait in the queue meanwhile.
async fn open(control: &mut Control, peer: PeerId) -> Result<Stream, String> {
    let mut last = String::new();
    for _ in 0..OPEN_ATTEMPTS {
        match tokio::time::timeout(OPEN_TIMEOUT, control.open_stream(peer, STORE_STREAM)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(e)) => last = e.to_string(),
            Err(_) => last = format!("not open within {OPEN_TIMEOUT:?}"),
        }
    }
    Err(last)
}

async fn run_link(
    mut control: Control,
    peer: PeerId,
    link: u64,
    mut frames: mpsc::Receiver<Vec<u8>>,
    events: mpsc::Sender<ClientEvent>,
) {
    let error = match open(&mut control, peer).await {
        Err(e) => e,
        Ok(stream) => {
            let (mut reader, mut writer) = stream.split();
            let reading = async {
                loop {
                    let (tag, reply) = read_tagged::<StoreReply, _>(&mut reader).await?;
                    let ev = ClientEvent::Reply { peer, tag, reply };
                    if events.send(ev).await.is_err() {
                        return Ok::<(), std::io::Error>(());
                    }
                }
            };
            tokio::select! {
                r = write_coalesced(&mut writer, &mut frames) => {
                    r.err().map_or("closed".into(), |e| e.to_string())
                }
                r = reading => r.err().map_or("closed".into(), |e| e.to_string()),
            }
        }
    };
    let _ = events.send(ClientEvent::Closed { peer, link, error }).await;
}
