//! Outsiders with made-up identities against a running cluster (issue 18). Each identity is
//! a libp2p swarm of its own with a fresh key, dialling from one of several loopback source
//! addresses (127.0.0.x, so that per-IP bounds see several hosts and the cluster's own
//! clients on 127.0.0.1 are a host of their own), and sending in waves until told to stop:
//! order requests it signed itself (a stranger to the MS), order requests naming the
//! authority with a signature that does not verify, freshness requests, and requests for
//! the configuration. A share of identities only holds its connection open.

use std::net::Ipv4Addr;

mod source_tcp;
pub mod trial;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use libp2p::request_response::{Event, Message};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm};
use overlay::crypto::{PublicKey, SecretKey};
use overlay::id::Hash;
use overlay::pbft::{
    Batch, Payload, ReplicaIdx, Request as Order, Seq, Signed, SignedRequest, View,
};
use overlay::wire::Request;
use rampart::net::behaviour::{Behaviour, BehaviourEvent, Timing};
use rampart::net::codec::Undecoded;
use rand::RngCore;

/// How long an identity waits before dialling again after a refused or closed connection.
const REDIAL_AFTER: Duration = Duration::from_millis(500);

/// What one identity does once connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attack {
    /// Order requests signed by its own key.
    Order,
    /// Order requests naming the authority, signed by its own key.
    ForgedOrder,
    /// Freshness requests (threshold-signing sessions).
    Freshness,
    /// Requests for the whole configuration.
    Config,
    /// Junk published on the probe topic (never answered: counted as sent only).
    Gossip,
    /// Well-formed PBFT pre-prepares of 10,000 requests each (about 1.5 MB: costly to
    /// decode), from outside the MS group.
    Pbft,
    /// Nothing: holds a connection slot.
    Hold,
}

/// One part of a flood: identities doing one attack.
#[derive(Debug, Clone)]
pub struct Part {
    /// What they do.
    pub attack: Attack,
    /// How many identities.
    pub identities: usize,
    /// Requests an identity has in flight per wave.
    pub wave: usize,
    /// The pause after a wave is answered.
    pub pause: Duration,
    /// Loopback source addresses, in turn.
    pub sources: Vec<Ipv4Addr>,
    /// The nodes attacked, in turn.
    pub targets: Vec<Multiaddr>,
}

/// What the flood saw, summed over identities.
#[derive(Debug, Default)]
pub struct Tally {
    /// Connections established.
    pub connected: AtomicU64,
    /// Dials that failed (refused at a bound, or the handshake did not finish).
    pub not_connected: AtomicU64,
    /// Requests sent.
    pub sent: AtomicU64,
    /// Answers received (refusals included).
    pub answered: AtomicU64,
    /// Requests that failed (closed stream, timeout, connection closed).
    pub failed: AtomicU64,
}

impl Tally {
    /// One line for a report.
    pub fn line(&self) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        format!(
            "{} connected, {} not connected; {} requests sent, {} answered, {} failed",
            g(&self.connected),
            g(&self.not_connected),
            g(&self.sent),
            g(&self.answered),
            g(&self.failed)
        )
    }
}

/// Runs `parts` on the current tokio runtime until `stop` is set (forged orders name
/// `authority`); returns when every identity has ended.
pub async fn run(parts: Vec<Part>, authority: PublicKey, tally: Arc<Tally>, stop: Arc<AtomicBool>) {
    let mut tasks = Vec::new();
    for part in parts {
        for i in 0..part.identities {
            let one = Identity {
                target: part.targets[i % part.targets.len()].clone(),
                source: part.sources[i % part.sources.len()],
                attack: part.attack,
                wave: part.wave,
                pause: part.pause,
                authority,
            };
            let (tally, stop) = (tally.clone(), stop.clone());
            tasks.push(tokio::spawn(async move { one.run(&tally, &stop).await }));
        }
    }
    for t in tasks {
        let _ = t.await;
    }
}

struct Identity {
    target: Multiaddr,
    source: Ipv4Addr,
    attack: Attack,
    wave: usize,
    pause: Duration,
    authority: PublicKey,
}

/// Where one identity is.
#[derive(Default)]
struct State {
    peer: Option<PeerId>,
    open: usize,
    stamp: u64,
    next_wave: Option<tokio::time::Instant>,
    redial: Option<tokio::time::Instant>,
}

impl Identity {
    async fn run(&self, tally: &Tally, stop: &AtomicBool) {
        let key = SecretKey::generate(&mut rand::rngs::OsRng);
        let timing = Timing {
            request_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
        };
        let keypair = rampart::net::peers::keypair_of(&key);
        let Ok(mut swarm) = source_tcp::swarm(keypair, self.source, timing) else {
            return;
        };
        let mut st = State {
            redial: Some(tokio::time::Instant::now()),
            ..State::default()
        };
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        while !stop.load(Ordering::Relaxed) {
            tokio::select! {
                ev = swarm.select_next_some() => self.on_event(ev, &mut st, tally),
                _ = tick.tick() => {}
            }
            let now = tokio::time::Instant::now();
            if st.redial.is_some_and(|t| t <= now) {
                st.redial = None;
                let _ = swarm.dial(self.target.clone());
            }
            let due = st.next_wave.is_none_or(|t| t <= now);
            if let Some(p) = st.peer
                && st.open == 0
                && due
                && self.attack != Attack::Hold
            {
                for _ in 0..self.wave {
                    st.stamp += 1;
                    self.send(&mut swarm, p, &key, st.stamp);
                }
                // Gossip is never answered: the next wave follows after the pause.
                st.open = if self.attack == Attack::Gossip {
                    0
                } else {
                    self.wave
                };
                st.next_wave = Some(now + self.pause);
                tally.sent.fetch_add(self.wave as u64, Ordering::Relaxed);
            }
        }
    }

    fn on_event(&self, ev: SwarmEvent<BehaviourEvent>, st: &mut State, tally: &Tally) {
        let later = || Some(tokio::time::Instant::now() + REDIAL_AFTER);
        match ev {
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                tally.connected.fetch_add(1, Ordering::Relaxed);
                st.peer = Some(peer_id);
            }
            // As an attacker would: try again a moment later.
            SwarmEvent::OutgoingConnectionError { .. } => {
                tally.not_connected.fetch_add(1, Ordering::Relaxed);
                st.redial = later();
            }
            SwarmEvent::ConnectionClosed {
                num_established: 0, ..
            } => {
                (st.peer, st.open, st.redial) = (None, 0, later());
            }
            SwarmEvent::Behaviour(ev) => {
                if let Some(ok) = answered(ev) {
                    let counter = if ok { &tally.answered } else { &tally.failed };
                    counter.fetch_add(1, Ordering::Relaxed);
                    st.open -= st.open.min(1);
                    if st.open == 0 {
                        st.next_wave = Some(tokio::time::Instant::now() + self.pause);
                    }
                }
            }
            _ => {}
        }
    }

    fn send(&self, swarm: &mut Swarm<Behaviour>, peer: PeerId, key: &SecretKey, stamp: u64) {
        let b = swarm.behaviour_mut();
        let order = |client| Order {
            instance: Hash::default(),
            client,
            timestamp: stamp,
            op: vec![0xAB; 512],
        };
        match self.attack {
            Attack::Order => {
                b.order
                    .send_request(&peer, SignedRequest::sign(key, order(key.public())));
            }
            Attack::ForgedOrder => {
                let mut forged = SignedRequest::sign(key, order(key.public()));
                forged.request.client = self.authority;
                b.order.send_request(&peer, forged);
            }
            Attack::Freshness => {
                let mut nonce = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut nonce);
                b.control.send_request(&peer, Request::Freshness { nonce });
            }
            Attack::Config => {
                b.control.send_request(&peer, Request::Configuration);
            }
            Attack::Gossip => {
                let topic =
                    libp2p::gossipsub::IdentTopic::new(rampart::net::behaviour::PROBE_TOPIC);
                let _ = b.gossip.subscribe(&topic);
                let mut junk = vec![0u8; 256];
                rand::rngs::OsRng.fill_bytes(&mut junk);
                let _ = b.gossip.publish(topic, junk);
            }
            Attack::Pbft => {
                b.pbft.send_request(&peer, expensive_pbft_frame().clone());
            }
            Attack::Hold => {}
        }
    }
}

/// One PBFT frame that is expensive to decode, made once (signing its requests takes a
/// while) and sent by every PBFT attacker.
fn expensive_pbft_frame() -> &'static Undecoded<Signed> {
    static FRAME: std::sync::OnceLock<Undecoded<Signed>> = std::sync::OnceLock::new();
    FRAME.get_or_init(|| {
        let key = SecretKey::generate(&mut rand::rngs::OsRng);
        let batch = (0..10_000u64)
            .map(|timestamp| {
                let order = Order {
                    instance: Hash::default(),
                    client: key.public(),
                    timestamp,
                    op: Vec::new(),
                };
                SignedRequest::sign(&key, order)
            })
            .collect();
        let payload = Payload::PrePrepare {
            view: View(0),
            seq: Seq(1),
            digest: Hash::default(),
            batch: Batch(batch),
        };
        Undecoded::of(&Signed::sign(
            &key,
            &Hash::default(),
            ReplicaIdx(0),
            payload,
        ))
    })
}

/// Whether an event ends a request: `Some(true)` answered, `Some(false)` failed.
fn answered(ev: BehaviourEvent) -> Option<bool> {
    match ev {
        BehaviourEvent::Order(Event::Message {
            message: Message::Response { .. },
            ..
        })
        | BehaviourEvent::Control(Event::Message {
            message: Message::Response { .. },
            ..
        }) => Some(true),
        BehaviourEvent::Pbft(Event::Message {
            message: Message::Response { .. },
            ..
        }) => Some(true),
        BehaviourEvent::Order(Event::OutboundFailure { .. })
        | BehaviourEvent::Pbft(Event::OutboundFailure { .. })
        | BehaviourEvent::Control(Event::OutboundFailure { .. }) => Some(false),
        _ => None,
    }
}
