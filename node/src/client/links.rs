//! The client's streams to replicas and the requests in flight on them. One long-lived stream
//! per replica carries every request, tagged; an answer counts only when it comes from the
//! replica its tag was sent to, so a replica cannot answer in another's name.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::{Multiaddr, PeerId, Swarm};
use libp2p_stream::Control;
use overlay::dbqs::replica::Request;
use overlay::dbqs::wire::{StoreReply, StoreRequest};
use tokio::sync::mpsc;
use tracing::debug;

use crate::net::behaviour::Behaviour;
use crate::net::store_stream::{ClientEvent, Link};

/// A request in flight: operation, start, replica, kind.
pub type Outstanding = (u64, u32, usize, std::mem::Discriminant<Request>);

/// Answers and closes waiting for the driver.
const EVENTS_QUEUE: usize = 1024;
/// How often requests left unanswered past the timeout are forgotten.
const SWEEP_EVERY: Duration = Duration::from_millis(500);

/// What became of requests, as the driver needs to know it.
pub enum Heard {
    /// The answer to a request sent at `sent`.
    Reply {
        /// Which request.
        key: Outstanding,
        /// When it was sent.
        sent: Instant,
        /// The answer.
        reply: StoreReply,
    },
    /// These requests will not be answered: their stream failed.
    Failed(Vec<Outstanding>, String),
}

struct Sent {
    key: Outstanding,
    at: Instant,
    peer: PeerId,
    link: u64,
}

/// The client's streams.
pub struct Links {
    control: Control,
    links: HashMap<PeerId, Link>,
    next_link: u64,
    next_tag: u64,
    events_tx: mpsc::Sender<ClientEvent>,
    /// What the streams heard, for the driver's loop.
    pub events_rx: mpsc::Receiver<ClientEvent>,
    sent: HashMap<u64, Sent>,
    /// How long a request may stay unanswered before it is forgotten (its replica counted
    /// silent for good, so that it may be asked again).
    timeout: Duration,
    swept: Instant,
}

impl Links {
    /// No streams yet; `control` opens them.
    pub fn new(control: Control, timeout: Duration) -> Links {
        let (events_tx, events_rx) = mpsc::channel(EVENTS_QUEUE);
        Links {
            control,
            links: HashMap::new(),
            next_link: 0,
            next_tag: 0,
            events_tx,
            events_rx,
            sent: HashMap::new(),
            timeout,
            swept: Instant::now(),
        }
    }

    /// Whether `key` is in flight (a replica still working on a request gets no copy).
    pub fn in_flight(&self, key: &Outstanding) -> bool {
        self.sent.values().any(|s| s.key == *key)
    }

    /// Sends `msg` to `peer` (reachable at `addrs`), opening its stream if needed.
    pub fn send(
        &mut self,
        swarm: &mut Swarm<Behaviour>,
        peer: PeerId,
        addrs: Vec<Multiaddr>,
        key: Outstanding,
        msg: &StoreRequest,
    ) -> Result<(), String> {
        if !self.links.contains_key(&peer) {
            if !swarm.is_connected(&peer) {
                let dial = DialOpts::peer_id(peer)
                    .addresses(addrs)
                    .condition(PeerCondition::DisconnectedAndNotDialing)
                    .build();
                if let Err(e) = swarm.dial(dial) {
                    debug!(%peer, "dial: {e}");
                }
            }
            self.next_link += 1;
            let link = Link::open(
                self.control.clone(),
                peer,
                self.next_link,
                self.events_tx.clone(),
            );
            self.links.insert(peer, link);
        }
        let link = &self.links[&peer];
        let tag = self.next_tag;
        self.next_tag += 1;
        link.send(tag, msg)?;
        let sent = Sent {
            key,
            at: Instant::now(),
            peer,
            link: link.id,
        };
        self.sent.insert(tag, sent);
        Ok(())
    }

    /// What an event from the streams means for the driver.
    pub fn on_event(&mut self, ev: ClientEvent) -> Option<Heard> {
        match ev {
            ClientEvent::Reply { peer, tag, reply } => {
                if self.sent.get(&tag)?.peer != peer {
                    debug!(%peer, tag, "an answer to a request sent to another replica");
                    return None;
                }
                let s = self.sent.remove(&tag)?;
                Some(Heard::Reply {
                    key: s.key,
                    sent: s.at,
                    reply,
                })
            }
            ClientEvent::Closed { peer, link, error } => {
                if self.links.get(&peer).is_some_and(|l| l.id == link) {
                    self.links.remove(&peer);
                }
                let lost: Vec<u64> = self
                    .sent
                    .iter()
                    .filter(|(_, s)| s.peer == peer && s.link == link)
                    .map(|(t, _)| *t)
                    .collect();
                let keys = lost
                    .iter()
                    .filter_map(|t| self.sent.remove(t))
                    .map(|s| s.key)
                    .collect();
                Some(Heard::Failed(keys, error))
            }
        }
    }

    /// Forgets requests unanswered past the timeout.
    pub fn sweep(&mut self) {
        if self.swept.elapsed() < SWEEP_EVERY {
            return;
        }
        self.swept = Instant::now();
        let timeout = self.timeout;
        self.sent.retain(|_, s| s.at.elapsed() < timeout);
    }
}
