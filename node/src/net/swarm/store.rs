//! The network task's part in dBQS: check each client request at the gate (epoch, credential,
//! range, value layout), hand what passes to the store actor, and send its reply back. A
//! client in a newer epoch makes this node ask its members for the newer configuration.

use std::collections::HashSet;
use std::time::Instant;

use actix::Addr;
use libp2p::PeerId;
use overlay::cert::CertBody;
use overlay::dbqs::access::Gate;
use overlay::dbqs::replica::{Refusal, Reply, Request};
use overlay::dbqs::wire::{StoreReply, StoreRequest};
use overlay::id::{Epoch, Hash};
use overlay::ms::Evidence;
use overlay::wire::{OpLatency, StoreStatus};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use actors::dbqs::{RocksStore, Serve, StoreActor, Writer};

use super::NetTask;
use super::transfer::TransferLink;
use crate::net::peers::peer_id_of;
use crate::net::store_stream::{Inbound, Replier};

/// Requests handed to the store actor and not yet answered; more are refused as busy.
pub const STORE_INFLIGHT_MAX: usize = 1024;
/// Bytes of values in requests handed to the store actor and not yet answered: what many
/// clients sending maximal values at once can make a node hold.
pub const STORE_INFLIGHT_BYTES_MAX: usize = 256 * 1024 * 1024;
/// Credentials whose signatures were checked, remembered so each costs one verification.
pub const VERIFIED_CREDENTIALS_MAX: usize = 16_384;

/// A reply from the store actor on its way back to the asker.
pub struct Done {
    channel: Replier,
    epoch: Epoch,
    reply: Reply,
    /// Proof that the request's owner equivocated, if it showed one.
    evidence: Option<Evidence>,
    /// The request's value bytes.
    size: usize,
    /// Which latency histogram it counts in.
    op: usize,
    started: Instant,
}

/// The operations timed, by index into `StoreStatus::latency`.
const OPS: [&str; 4] = ["read", "write", "get_content", "put_content"];

fn op_index(req: &Request) -> usize {
    match req {
        Request::Read { .. } => 0,
        Request::Write { .. } => 1,
        Request::GetContent { .. } => 2,
        Request::PutContent { .. } => 3,
    }
}

/// What a node needs to serve dBQS.
pub struct StoreLink {
    pub(super) actor: Addr<StoreActor>,
    /// The group-commit writer: every write goes there.
    pub(super) writer: Writer,
    /// Read only for counts in status.
    store: RocksStore,
    done_tx: mpsc::Sender<Done>,
    /// Replies from the actor, drained by the task's loop.
    pub done_rx: mpsc::Receiver<Done>,
    /// Requests from long-lived store streams, once the task accepts them.
    pub streams_rx: Option<mpsc::Receiver<Inbound>>,
    inflight: usize,
    inflight_bytes: usize,
    verified: HashSet<Hash>,
    /// When a client's newer epoch last made this node ask its members for it.
    last_catch_up: Option<std::time::Instant>,
    /// What was served and refused, for status.
    pub counters: StoreStatus,
    /// State transfer.
    pub moving: TransferLink,
}

impl StoreLink {
    /// A link to the store actor.
    pub fn new(
        actor: Addr<StoreActor>,
        writer: Writer,
        store: RocksStore,
        moving: TransferLink,
    ) -> StoreLink {
        let (done_tx, done_rx) = mpsc::channel(STORE_INFLIGHT_MAX);
        StoreLink {
            moving,
            actor,
            writer,
            store,
            done_tx,
            done_rx,
            streams_rx: None,
            inflight: 0,
            inflight_bytes: 0,
            verified: HashSet::new(),
            last_catch_up: None,
            counters: StoreStatus {
                latency: OPS.iter().map(|o| OpLatency::new(o)).collect(),
                ..StoreStatus::default()
            },
        }
    }
}

impl StoreLink {
    /// What the replica holds and did, for status.
    pub fn status(&self) -> StoreStatus {
        let (keyed, content) = self.store.counts();
        let (write_batches, batched_writes) = self.writer.tally();
        StoreStatus {
            keyed,
            content,
            write_batches,
            batched_writes,
            transfer: self.moving.status(),
            ..self.counters.clone()
        }
    }
}

/// The bytes of value a request carries.
fn value_bytes(req: &Request) -> usize {
    match req {
        Request::PutContent { bytes, .. } => bytes.len(),
        Request::Write { version } => version.value.as_ref().map_or(0, Vec::len),
        Request::Read { .. } | Request::GetContent { .. } => 0,
    }
}

fn reason(r: &Refusal) -> &'static str {
    match r {
        Refusal::BadVersion(_) => "bad_version",
        Refusal::TooLarge(_) => "too_large",
        Refusal::Storage(_) => "storage",
        Refusal::StaleEpoch { .. } => "stale_epoch",
        Refusal::ReplicaBehind { .. } => "replica_behind",
        Refusal::NotHeld(_) => "not_held",
        Refusal::BadCredential(_) => "bad_credential",
        Refusal::Denied(_) => "denied",
        Refusal::Busy => "busy",
    }
}

impl NetTask {
    /// A request, a bad frame or a refused stream from the long-lived store streams.
    pub(super) fn on_store_stream(&mut self, ev: Inbound) {
        match ev {
            Inbound::Request { peer, msg, reply } => self.store_request(peer, *msg, reply),
            Inbound::BadFrame { peer, error } => {
                self.counters.request_failures += 1;
                debug!(%peer, "bad store stream frame: {error}");
            }
            Inbound::TooManyStreams { peer } => {
                self.counters.request_failures += 1;
                debug!(%peer, "store stream refused: the peer holds too many");
            }
        }
    }

    fn store_request(&mut self, peer: PeerId, msg: StoreRequest, channel: Replier) {
        let config = self.view.borrow().config.clone();
        let me = self.me;
        let authority = self.authority;
        let ring = self.current_ring(&config);
        let Some(link) = self.store.as_mut() else {
            return;
        };
        let cert_id = msg.credential.id();
        let peer_key = match &msg.credential.content.body {
            CertBody::Client { key, .. } if peer_id_of(key) == peer => Some(*key),
            _ => None,
        };
        let gate = Gate {
            me,
            config: &config,
            ring: &ring,
            authority: &authority,
            now: crate::timeutil::now(),
        };
        let verified = &link.verified;
        let admitted = gate.admit(&msg, peer_key.as_ref(), &|id| verified.contains(id));
        let size = value_bytes(&msg.req);
        let busy = link.inflight >= STORE_INFLIGHT_MAX
            || link.inflight_bytes + size > STORE_INFLIGHT_BYTES_MAX;
        let refusal = match admitted {
            Ok(_) if busy => Some(Refusal::Busy),
            Ok(_) => None,
            Err(r) => Some(r),
        };
        if let Some(r) = refusal {
            // The client claims a newer epoch: catch up from the members, at most once a
            // second (the claim is unchecked, and anyone can make it).
            let due = link
                .last_catch_up
                .is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(1));
            if matches!(r, Refusal::ReplicaBehind { .. }) && due {
                link.last_catch_up = Some(std::time::Instant::now());
                self.exchange_all();
            }
            self.store_refuse(peer, channel, r);
            return;
        }
        if link.verified.len() >= VERIFIED_CREDENTIALS_MAX {
            link.verified.clear();
        }
        link.verified.insert(cert_id);
        if let Request::Write { version } = &msg.req
            && let Some(c) = &version.credential
        {
            link.verified.insert(c.id());
        }
        // An object of a range still arriving is fetched first.
        if let Some((msg, channel)) = self.transfer_admit(peer, msg, channel, size) {
            self.store_serve(peer, msg, channel, size);
        }
    }

    /// Answers a client request with a refusal.
    pub(super) fn store_refuse(&mut self, peer: PeerId, channel: Replier, r: Refusal) {
        let epoch = self.current_epoch();
        if let Some(link) = self.store.as_mut() {
            *link.counters.refused.entry(reason(&r).into()).or_default() += 1;
        }
        let reply = StoreReply {
            epoch,
            reply: Reply::Refused(r),
        };
        if !channel.send(&reply) {
            debug!(%peer, "store refusal not sent: the client went away");
        }
    }

    /// Hands an admitted request to the store actor.
    pub(super) fn store_serve(
        &mut self,
        _peer: PeerId,
        msg: StoreRequest,
        channel: Replier,
        size: usize,
    ) {
        let epoch = self.current_epoch();
        if let Some(reply) = self.liar.as_mut().and_then(|l| l.store_request(&msg.req)) {
            // A Byzantine test node acknowledging a write it drops.
            channel.send(&StoreReply { epoch, reply });
            return;
        }
        let delay = self.liar.as_ref().and_then(|l| l.delay());
        let Some(link) = self.store.as_mut() else {
            return;
        };
        link.inflight += 1;
        link.inflight_bytes += size;
        let actor = link.actor.clone();
        let writer = link.writer.clone();
        let tx = link.done_tx.clone();
        let op = op_index(&msg.req);
        let started = Instant::now();
        tokio::spawn(async move {
            let (reply, evidence) = match msg.req {
                req @ (Request::Write { .. } | Request::PutContent { .. }) => {
                    writer.serve(req).await
                }
                req => match actor.send(Serve(req)).await {
                    Ok(r) => r,
                    Err(e) => (
                        Reply::Refused(Refusal::Storage(format!("store unavailable: {e}"))),
                        None,
                    ),
                },
            };
            if let Some(d) = delay {
                tokio::time::sleep(d).await;
            }
            let done = Done {
                channel,
                epoch,
                reply,
                evidence,
                size,
                op,
                started,
            };
            let _ = tx.send(done).await;
        });
    }

    pub(super) fn store_done(&mut self, done: Done) {
        let Done {
            channel,
            epoch,
            reply,
            evidence,
            size,
            op,
            started,
        } = done;
        if let Some(e) = evidence {
            self.report_evidence(e);
        }
        let Some(link) = self.store.as_mut() else {
            return;
        };
        link.inflight = link.inflight.saturating_sub(1);
        link.inflight_bytes = link.inflight_bytes.saturating_sub(size);
        if let Some(h) = link.counters.latency.get_mut(op) {
            h.observe(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
        }
        match &reply {
            Reply::Refused(r) => {
                *link.counters.refused.entry(reason(r).into()).or_default() += 1;
                if let Refusal::Storage(why) = r {
                    warn!("store failed: {why}");
                }
            }
            _ => link.counters.served += 1,
        }
        let reply = match self.liar.as_mut() {
            Some(l) => match l.store_reply(reply) {
                Some(r) => r,
                None => return,
            },
            None => reply,
        };
        if !channel.send(&StoreReply { epoch, reply }) {
            debug!("store reply not sent: the client went away");
        }
    }
}
