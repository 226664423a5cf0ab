//! The task that owns the swarm: one loop over swarm events, timers and the PBFT replica's
//! outbound queue. It answers the control protocol from the current view (a watch channel the
//! `Epochs` actor publishes), hands configurations peers send to that actor with `try_send`,
//! keeps connections to every member, carries PBFT messages between MS replicas, and holds
//! clients' ordering requests until the replica's reply comes back. Its part in the
//! membership service's own work is in `ms`.

mod gossip;
mod health;
mod ms;
mod store;
mod transfer;

pub use gossip::ProbeSettings;
pub use store::StoreLink;
pub use transfer::TransferLink;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use actix::{Addr, Recipient};
use futures::StreamExt;
use libp2p::request_response::{self, Message, ResponseChannel};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm};
use overlay::cert::Certificate;
use overlay::config::Configuration;
use overlay::crypto::{PublicKey, SecretKey};
use overlay::epoch::EpochCert;
use overlay::id::{Epoch, NodeId};
use overlay::pbft::{Event, Signed, SignedReply, SignedRequest};
use overlay::probe::Prober;
use overlay::ring::Ring;
use overlay::threshold::session::{HolderReply, SignMsg};
use overlay::wire::{MemberStatus, PbftStatus, Request, Response, StatusReport};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use actors::epochs::{Epochs, OfferConfig, View};
use actors::pbft::{Deliver, InstanceLink, Outbound, PbftView};

use super::behaviour::{Behaviour, BehaviourEvent};
use super::codec::{Ack, Undecoded};
use super::outsider::Outsider;
use super::peers::{parse_addrs, peer_id_of};
use super::submitter::Submitter;
use super::tsig::{Tsig, TsigOut};
use crate::node::share::ShareStore;
use actix_rt::ArbiterHandle;
use actors::pbft::Successor;
use overlay::constants::ORDER_PENDING_MAX;
use overlay::guard::Class;
use overlay::ms::Handover;
use overlay::ms::Op;
use overlay::ms::intake::{OrderIntake, Signers};
use overlay::status::Refused;
use overlay::threshold::KeyPackage;
use std::sync::Arc;

/// How often the task runs its periodic work.
#[derive(Debug, Clone, Copy)]
pub struct Intervals {
    /// Redial members and bootstrap peers we are not connected to.
    pub dial: Duration,
    /// Ask connected members for a newer configuration.
    pub exchange: Duration,
}

/// Counters of what the task dropped or refused, for status and logs.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counters {
    /// Offers dropped because the `Epochs` mailbox was full.
    pub offers_dropped: u64,
    /// Inbound or outbound requests that failed (including undecodable messages).
    pub request_failures: u64,
    /// Incoming connections whose handshake failed.
    pub handshake_failures: u64,
    /// PBFT or ordering input dropped (replica mailbox full, unknown sender, bound reached).
    pub pbft_dropped: u64,
    /// Incoming connections refused at a connection bound (`ip_limits`, `limits`).
    pub connections_refused: u64,
    /// Gossip messages not forwarded: authored by a non-member, or not valid.
    pub gossip_rejected: u64,
    /// PBFT frames from outside the MS groups, dropped undecoded.
    pub pbft_outsider: u64,
}

/// What this node does for the MS besides carrying configurations.
pub struct Roles {
    /// How it lies, in a test build told to.
    pub liar: Option<crate::byzantine::Liar>,
    /// Its PBFT replica, if it is in the MS group.
    pub pbft: Option<PbftLink>,
    /// Threshold signing: holder and coordinator.
    pub tsig: Tsig,
    /// Its client of its own MS instance.
    pub submitter: Submitter,
    /// Its MS key share on disk.
    pub shares: ShareStore,
    /// What it takes to start an MS instance (none for the null application).
    pub ms_runtime: Option<MsRuntime>,
    /// Its part when named in the next MS group without being a replica now.
    pub outsider: Outsider,
    /// Its admission, while it is joining a running system.
    pub admission: Option<Certificate>,
    /// The authority's key: admissions relayed for others must verify under it.
    pub authority: PublicKey,
    /// The node key's seed: probes are signed with it.
    pub key_seed: [u8; 32],
    /// Probe pacing.
    pub probes: ProbeSettings,
    /// The MS public key, which never changes: epoch news must verify under it.
    pub ms_key: PublicKey,
    /// Its dBQS replica.
    pub store: Option<StoreLink>,
    /// Its HTTP analyser's address and the queue of its status requests.
    pub http: Option<(String, mpsc::Receiver<crate::analyzer::Ask>)>,
}

/// What it takes to start an MS replica from the network task.
pub struct MsRuntime {
    /// Database, keys, bounds and queue for the replica.
    pub successor: Successor,
    /// The arbiter replicas started here run on.
    pub arbiter: ArbiterHandle,
}

/// The state this node's replica handed over, served to next-group holders.
pub struct Retired {
    epoch: Epoch,
    bytes: Arc<Vec<u8>>,
    handover: Option<Handover>,
}

impl PbftLink {
    /// The link to a running instance.
    pub fn of(i: InstanceLink) -> PbftLink {
        let cfg = overlay::pbft::Config::for_ms(&i.config);
        PbftLink {
            replica: i.replica,
            peers: cfg.replicas.iter().map(peer_id_of).collect(),
            nodes: i.config.ms_group.clone(),
            view: i.view,
            cfg,
        }
    }
}

/// The link between the network task and this node's PBFT replica.
pub struct PbftLink {
    /// Where inbound messages and requests go.
    pub replica: Recipient<Deliver>,
    /// The MS replicas' peer ids, by replica index.
    pub peers: Vec<PeerId>,
    /// Their node ids, by replica index.
    pub nodes: Vec<NodeId>,
    /// The replica's progress.
    pub view: watch::Receiver<PbftView>,
    /// The instance's configuration (its id and replica keys).
    pub cfg: overlay::pbft::Config,
}

/// The swarm's owner.
pub struct NetTask {
    swarm: Swarm<Behaviour>,
    me: NodeId,
    epochs: Addr<Epochs>,
    view: watch::Receiver<View>,
    bootstrap: Vec<Multiaddr>,
    intervals: Intervals,
    started: Instant,
    members: HashMap<PeerId, (NodeId, Vec<Multiaddr>)>,
    bootstrap_dials: HashMap<ConnectionId, Multiaddr>,
    unreachable_reported: HashSet<String>,
    pbft: Option<PbftLink>,
    /// The instance this node's replica just handed over, serving lagging peers a while.
    retiring: Option<PbftLink>,
    pending_replies: HashMap<([u8; 32], u64), Vec<ResponseChannel<SignedReply>>>,
    /// Who may have a reply channel kept in `pending_replies`, and how many.
    intake: OrderIntake,
    /// HTTP analyser tokens revoked before they expire.
    revoked_tokens: overlay::analyst::revoked::Revoked,
    /// Bytes of answers non-members may still have.
    answer_budget: overlay::guard::AnswerBudget<PeerId>,
    /// The encoded size of the current configuration's answer, once measured.
    config_bytes: Option<(Epoch, usize)>,
    /// When closed reply channels were last forgotten.
    replies_swept: Instant,
    tsig: Tsig,
    submitter: Submitter,
    shares: ShareStore,
    ms_runtime: Option<MsRuntime>,
    outsider: Outsider,
    retired: Option<Retired>,
    joining: Option<(Epoch, KeyPackage, Handover)>,
    current_config: Option<Arc<overlay::config::Configuration>>,
    prev_config: Option<Arc<overlay::config::Configuration>>,
    admission: Option<Certificate>,
    authority: PublicKey,
    key: SecretKey,
    probe_settings: ProbeSettings,
    ms_key: PublicKey,
    prober: Option<Prober>,
    last_probe: Option<Instant>,
    counters: Counters,
    health: health::Health,
    liar: Option<crate::byzantine::Liar>,
    /// The current epoch's ring, built once per epoch.
    ring: Option<(Epoch, Arc<Ring>)>,
    /// Connections from this host (loopback), which may ask for status without a credential.
    local_conns: HashSet<ConnectionId>,
    store: Option<StoreLink>,
    http: Option<(String, mpsc::Receiver<crate::analyzer::Ask>)>,
}

impl NetTask {
    /// A task for `swarm`, which must already be listening.
    pub fn new(
        swarm: Swarm<Behaviour>,
        me: NodeId,
        epochs: Addr<Epochs>,
        view: watch::Receiver<View>,
        bootstrap: Vec<Multiaddr>,
        intervals: Intervals,
        roles: Roles,
    ) -> NetTask {
        let Roles {
            liar,
            pbft,
            tsig,
            submitter,
            shares,
            ms_runtime,
            outsider,
            admission,
            authority,
            key_seed,
            probes,
            ms_key,
            store,
            http,
        } = roles;
        let mut task = NetTask {
            swarm,
            me,
            epochs,
            view,
            bootstrap,
            intervals,
            started: Instant::now(),
            members: HashMap::new(),
            bootstrap_dials: HashMap::new(),
            unreachable_reported: HashSet::new(),
            pbft,
            pending_replies: HashMap::new(),
            intake: OrderIntake::default(),
            revoked_tokens: Default::default(),
            answer_budget: Default::default(),
            config_bytes: None,
            replies_swept: Instant::now(),
            tsig,
            submitter,
            shares,
            ms_runtime,
            outsider,
            retired: None,
            retiring: None,
            joining: None,
            current_config: None,
            prev_config: None,
            admission,
            authority,
            key: SecretKey::from_seed(&key_seed),
            probe_settings: probes,
            ms_key,
            prober: None,
            last_probe: None,
            counters: Counters::default(),
            health: health::Health::default(),
            liar,
            ring: None,
            local_conns: HashSet::new(),
            store,
            http,
        };
        task.subscribe_probes();
        task.refresh_members();
        task
    }

    /// Runs until the process ends; `outbound` is the PBFT replica's queue, if any.
    pub async fn run(mut self, mut outbound: Option<mpsc::Receiver<Outbound>>) {
        let mut dial = tokio::time::interval(self.intervals.dial);
        let mut exchange = tokio::time::interval(self.intervals.exchange);
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let mut second = tokio::time::interval(Duration::from_secs(1));
        if let Some(l) = self.store.as_mut() {
            let (actor, writer) = (l.actor.clone(), l.writer.clone());
            l.moving.start_applier(actor, writer);
            let mut control = self.swarm.behaviour().stream.new_control();
            match crate::net::store_stream::accept(&mut control) {
                Ok(rx) => l.streams_rx = Some(rx),
                Err(e) => warn!("store streams not served: {e}"),
            }
        }
        loop {
            let next_out = async {
                match outbound.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            let (store_done, streamed, moved, answered) = match self.store.as_mut() {
                Some(l) => (
                    Some(&mut l.done_rx),
                    l.streams_rx.as_mut(),
                    Some(&mut l.moving.finished_rx),
                    Some(&mut l.moving.answers_rx),
                ),
                None => (None, None, None, None),
            };
            let store_done = async {
                match store_done {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            let streamed = async {
                match streamed {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            let moved = async {
                match moved {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            let answered = async {
                match answered {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            let http_ask = async {
                match self.http.as_mut() {
                    Some((_, rx)) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                ev = self.swarm.select_next_some() => self.on_swarm_event(ev),
                Some(o) = next_out => self.on_outbound(o),
                Some(d) = store_done => self.store_done(d),
                Some(s) = streamed => self.on_store_stream(s),
                Some(m) = moved => self.transfer_finished(m),
                Some(a) = answered => self.transfer_answered(a),
                Some(ask) = http_ask => self.answer_http(ask),
                _ = second.tick() => self.transfer_tick(),
                _ = dial.tick() => self.dial_missing(),
                _ = exchange.tick() => self.exchange_all(),
                _ = tick.tick() => self.tsig_tick(),
                Ok(()) = self.view.changed() => self.refresh_members(),
            }
        }
    }

    fn refresh_members(&mut self) {
        let view = self.view.borrow_and_update().clone();
        self.health.on_view(&view);
        if let Some(old) = self.current_config.replace(view.config.clone())
            && old.epoch != view.config.epoch
        {
            self.prev_config = Some(old);
        }
        // A new epoch may come with new MS public shares: learn them now.
        self.outsider.ask_soon();
        self.transfer_epoch();
        let behaviour = self.swarm.behaviour_mut();
        for p in self.members.keys() {
            behaviour.limits.remove_peer_id(p);
        }
        self.members.clear();
        for m in &view.config.members {
            let id = m.id();
            if id == self.me {
                continue;
            }
            let (addrs, bad) = parse_addrs(&m.addrs);
            for b in bad {
                warn!(member = ?id, "member address does not parse: {b}");
            }
            self.members.insert(peer_id_of(&m.key), (id, addrs));
        }
        // Members are bounded by the configuration, and the authority is one: connection
        // bounds are for everyone else, so that a flood cannot lock out what keeps the system
        // going (ordering, probes, handover, the admin's certificates).
        let authority = peer_id_of(&self.authority);
        let behaviour = self.swarm.behaviour_mut();
        for p in self.members.keys().chain([&authority]) {
            behaviour.limits.bypass_peer_id(p);
        }
        let trusted = self.members.keys().copied().chain([authority]);
        behaviour.ip_limits.set_members(trusted);
    }

    fn dial_missing(&mut self) {
        let targets: Vec<(PeerId, Vec<Multiaddr>)> = self
            .members
            .iter()
            .filter(|(p, _)| !self.swarm.is_connected(p))
            .map(|(p, (_, a))| (*p, a.clone()))
            .collect();
        for (peer, addrs) in targets {
            let opts = DialOpts::peer_id(peer)
                .addresses(addrs)
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            if let Err(e) = self.swarm.dial(opts) {
                debug!(%peer, "dial not started: {e}");
            }
        }
        if self.swarm.connected_peers().next().is_none() {
            self.bootstrap_dials.clear();
            for addr in self.bootstrap.clone() {
                let opts = DialOpts::unknown_peer_id().address(addr.clone()).build();
                let id = opts.connection_id();
                match self.swarm.dial(opts) {
                    Ok(()) => {
                        self.bootstrap_dials.insert(id, addr);
                    }
                    Err(e) => warn!(bootstrap = %addr, "cannot dial bootstrap peer: {e}"),
                }
            }
        }
    }

    /// Members this node is connected to now.
    fn connected_members(&self) -> Vec<PeerId> {
        self.members
            .keys()
            .filter(|p| self.swarm.is_connected(p))
            .copied()
            .collect()
    }

    /// The replicas of this node's MS instance and of the one it retired last, and the old
    /// and new holders of their handovers: the new holders order `Ready` before this host
    /// adopts the epoch that makes them members.
    fn ms_replicas(&self) -> BTreeSet<NodeId> {
        let mut ids = BTreeSet::new();
        for link in self.pbft.iter().chain(self.retiring.iter()) {
            ids.extend(link.nodes.iter().copied());
            if let Some(h) = &link.view.borrow().handover {
                ids.extend(h.old_holders.iter().copied());
                ids.extend(h.new_holders.iter().map(NodeId::of));
            }
        }
        ids
    }

    fn exchange_all(&mut self) {
        self.ask_admission();
        for p in self.connected_members() {
            self.ask_config(&p);
        }
    }

    fn ask_config(&mut self, peer: &PeerId) {
        let view = self.view.borrow();
        let req = Request::Config {
            epoch: view.cert.statement.epoch,
            config_hash: view.cert.statement.config_hash,
        };
        drop(view);
        self.swarm.behaviour_mut().control.send_request(peer, req);
    }

    fn on_swarm_event(&mut self, ev: SwarmEvent<BehaviourEvent>) {
        match ev {
            SwarmEvent::NewListenAddr { address, .. } => info!(%address, "listening"),
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                connection_id,
                ..
            } => {
                self.bootstrap_dials.remove(&connection_id);
                if is_loopback(endpoint.get_remote_address())
                    && self.local_conns.len() < LOCAL_CONNS_MAX
                {
                    self.local_conns.insert(connection_id);
                }
                let member = self.members.get(&peer_id).map(|(id, _)| *id);
                debug!(peer = %peer_id, ?member, addr = %endpoint.get_remote_address(), "connected");
                if member.is_some() {
                    self.unreachable_reported.remove(&peer_id.to_string());
                    self.ask_config(&peer_id);
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                cause,
                connection_id,
                ..
            } => {
                self.local_conns.remove(&connection_id);
                debug!(peer = %peer_id, ?cause, "connection closed");
            }
            SwarmEvent::OutgoingConnectionError {
                peer_id,
                connection_id,
                error,
            } => {
                let who = match (self.bootstrap_dials.remove(&connection_id), peer_id) {
                    (Some(addr), _) => format!("bootstrap peer {addr}"),
                    (None, Some(p)) => p.to_string(),
                    (None, None) => "unknown peer".into(),
                };
                if self.unreachable_reported.insert(who.clone()) {
                    warn!(peer = %who, "cannot reach peer: {error}");
                } else {
                    debug!(peer = %who, "still cannot reach peer: {error}");
                }
            }
            SwarmEvent::IncomingConnectionError {
                error: libp2p::swarm::ListenError::Denied { cause },
                send_back_addr,
                ..
            } => {
                // At a connection bound: a flood must not flood the log as well.
                self.counters.connections_refused += 1;
                debug!(from = %send_back_addr, "incoming connection refused: {cause}");
            }
            SwarmEvent::IncomingConnectionError {
                send_back_addr,
                error,
                ..
            } => {
                self.counters.handshake_failures += 1;
                warn!(from = %send_back_addr, "refused incoming connection: {error}");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Control(ev)) => self.on_control(ev),
            SwarmEvent::Behaviour(BehaviourEvent::Pbft(ev)) => self.on_pbft(ev),
            SwarmEvent::Behaviour(BehaviourEvent::Order(ev)) => self.on_order(ev),
            SwarmEvent::Behaviour(BehaviourEvent::Tsig(ev)) => self.on_tsig(ev),
            SwarmEvent::Behaviour(BehaviourEvent::Gossip(ev)) => self.on_gossip(ev),
            SwarmEvent::Behaviour(BehaviourEvent::Transfer(ev)) => self.on_transfer(ev),
            _ => {}
        }
    }

    fn on_control(&mut self, ev: request_response::Event<Request, Response>) {
        match ev {
            request_response::Event::Message {
                peer,
                message,
                connection_id,
            } => match message {
                Message::Request {
                    request: Request::Freshness { nonce },
                    channel,
                    ..
                } => {
                    let config = self.view.borrow().config.clone();
                    let outs = self.tsig.start_freshness(nonce, &config, channel, peer);
                    self.tsig_do(outs);
                }
                Message::Request {
                    request: Request::Admit(cert),
                    channel,
                    ..
                } => {
                    let response = self.relay_admission(*cert);
                    self.respond(channel, response);
                }
                Message::Request {
                    request: request @ (Request::Status | Request::Analyze(_)),
                    channel,
                    ..
                } => {
                    let response = self.answer_status(peer, connection_id, request);
                    self.respond(channel, response);
                }
                Message::Request {
                    request, channel, ..
                } => {
                    let response = self.answer(request);
                    let response = self.within_budget(peer, connection_id, response);
                    self.respond(channel, response);
                }
                Message::Response { response, .. } => self.on_response(peer, response),
            },
            request_response::Event::InboundFailure { peer, error, .. } => {
                self.counters.request_failures += 1;
                warn!(%peer, "bad or failed request from peer: {error}");
            }
            request_response::Event::OutboundFailure { peer, error, .. } => {
                self.counters.request_failures += 1;
                debug!(%peer, "request to peer failed: {error}");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn answer(&self, request: Request) -> Response {
        let view = self.view.borrow().clone();
        let config = || Response::Config {
            config: Box::new((*view.config).clone()),
            cert: view.cert,
        };
        match request {
            Request::Config { epoch, .. } if epoch < view.cert.statement.epoch => config(),
            Request::Config { .. } => Response::NotNewer { cert: view.cert },
            Request::Configuration => config(),
            Request::Status | Request::Analyze(_) => {
                Response::Refused("status is answered with its access check".into())
            }
            Request::Freshness { .. } => {
                Response::Refused("freshness is answered by a signing session".into())
            }
            Request::Handover | Request::MsState { .. } => self.answer_ms(&request),
            Request::Admit(_) => Response::Refused("admissions are relayed, not answered".into()),
            Request::PastConfig { epoch } => {
                match self.store.as_ref().and_then(|l| l.moving.past(epoch)) {
                    Some((config, cert)) => Response::Config {
                        config: Box::new((*config).clone()),
                        cert,
                    },
                    None => Response::Refused(format!("epoch {} is not remembered here", epoch.0)),
                }
            }
        }
    }

    /// `response`, or a refusal if it goes to a peer that is neither a member nor on this
    /// host and would pass the bytes budgeted for such peers (`overlay::guard::AnswerBudget`).
    fn within_budget(
        &mut self,
        peer: PeerId,
        connection: ConnectionId,
        response: Response,
    ) -> Response {
        if self.members.contains_key(&peer) || self.local_conns.contains(&connection) {
            return response;
        }
        let bytes = match &response {
            Response::Config { config, .. } => match self.config_bytes {
                Some((epoch, bytes)) if epoch == config.epoch => bytes,
                _ => {
                    let bytes = overlay::encoding::encode(&response).len();
                    self.config_bytes = Some((config.epoch, bytes));
                    bytes
                }
            },
            Response::Refused(_) | Response::NotNewer { .. } => return response,
            other => overlay::encoding::encode(other).len(),
        };
        let now_ms = self.started.elapsed().as_millis() as u64;
        if self.answer_budget.allow(&peer, bytes, now_ms) {
            return response;
        }
        Response::Refused(format!(
            "an answer of {bytes} bytes is past what this node sends to non-members now; ask again in a few seconds"
        ))
    }

    /// Answers a control request; the asker may have gone away meanwhile.
    fn respond(&mut self, channel: ResponseChannel<Response>, response: Response) {
        if self
            .swarm
            .behaviour_mut()
            .control
            .send_response(channel, response)
            .is_err()
        {
            debug!("control response not sent: the asker went away");
        }
    }

    fn current_epoch(&self) -> Epoch {
        self.view.borrow().config.epoch
    }

    fn tsig_tick(&mut self) {
        let outs = self.tsig.on_tick(Instant::now(), self.current_epoch());
        self.tsig_do(outs);
        let outs = self.submitter.poll(Instant::now());
        self.submit_do(outs);
        self.outsider_tick();
        self.probe_tick();
    }

    fn tsig_do(&mut self, outs: Vec<TsigOut>) {
        for o in outs {
            match o {
                TsigOut::Request {
                    peer,
                    holder,
                    session,
                    msg,
                } => {
                    let id = self.swarm.behaviour_mut().tsig.send_request(&peer, msg);
                    self.tsig.sent(id, session, holder);
                }
                TsigOut::Respond { channel, response } => self.respond(channel, response),
                TsigOut::EpochSigned(cert) => {
                    self.submitter.submit(Op::Certified(cert));
                    let outs = self.submitter.poll(Instant::now());
                    self.submit_do(outs);
                }
            }
        }
    }

    fn on_tsig(&mut self, ev: request_response::Event<SignMsg, HolderReply>) {
        let epoch = self.current_epoch();
        match ev {
            request_response::Event::Message { peer, message, .. } => match message {
                Message::Request {
                    request, channel, ..
                } => {
                    // Only members may run signing rounds: each commitment costs a scalar
                    // multiplication and an open nonce.
                    let reply = if let Some((id, _)) = self.members.get(&peer) {
                        // MS replicas coordinate epoch certificates: their rounds have room
                        // no other coordinator's freshness rounds can take.
                        let class = if self.ms_replicas().contains(id) {
                            Class::Own
                        } else {
                            Class::Outside
                        };
                        let coordinator = overlay::id::Hash::of(&[&peer.to_bytes()]);
                        self.tsig.answer(request, coordinator, class, epoch)
                    } else {
                        HolderReply::Refused("signing rounds are for members only".into())
                    };
                    let _ = self
                        .swarm
                        .behaviour_mut()
                        .tsig
                        .send_response(channel, reply);
                }
                Message::Response {
                    request_id,
                    response,
                } => {
                    let outs = self.tsig.on_reply(request_id, response, epoch);
                    self.tsig_do(outs);
                }
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                debug!(%peer, "signing round failed: {error}");
                self.tsig.on_failure(request_id);
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                self.counters.request_failures += 1;
                debug!(%peer, "bad signing round from peer: {error}");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    /// Hands a certified configuration to the `Epochs` actor, which checks and keeps it.
    fn offer(&mut self, from: String, config: Configuration, cert: EpochCert) {
        if self
            .epochs
            .try_send(OfferConfig { from, config, cert })
            .is_err()
        {
            self.counters.offers_dropped += 1;
            debug!("configuration offer dropped: the epochs mailbox is full");
        }
    }

    fn on_response(&mut self, peer: PeerId, response: Response) {
        match response {
            Response::Config { config, cert } => {
                self.transfer_past_config(&config, &cert);
                self.offer(peer.to_string(), *config, cert)
            }
            Response::NotNewer { .. } => {}
            Response::Handover(view) => self.on_handover_view(peer, view),
            Response::Relayed => debug!(%peer, "our admission was handed to the MS"),
            Response::MsState(bytes) => self.on_ms_state(peer, bytes),
            Response::Status(_) | Response::Freshness(_) => {
                debug!(%peer, "unexpected response to a configuration request")
            }
            Response::Refused(why) => debug!(%peer, "request refused: {why}"),
        }
    }

    fn on_pbft(&mut self, ev: request_response::Event<Undecoded<Signed>, Ack>) {
        match ev {
            request_response::Event::Message {
                peer,
                message:
                    Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                let _ = self.swarm.behaviour_mut().pbft.send_response(channel, Ack);
                if self
                    .retiring
                    .as_ref()
                    .is_some_and(|l| !l.replica.connected())
                {
                    self.retiring = None;
                }
                let in_current = self.pbft.as_ref().is_some_and(|l| l.peers.contains(&peer));
                let in_retiring = self
                    .retiring
                    .as_ref()
                    .is_some_and(|l| l.peers.contains(&peer));
                // The sender first, the body after: bytes from outside the groups are never
                // decoded.
                if !in_current && !in_retiring {
                    self.counters.pbft_outsider += 1;
                    debug!(%peer, bytes = request.len(), "pbft message from a peer outside the MS group dropped undecoded");
                    return;
                }
                let request = match request.decode() {
                    Ok(r) => r,
                    Err(e) => {
                        self.counters.request_failures += 1;
                        debug!(%peer, "bad pbft message from a replica: {e}");
                        return;
                    }
                };
                // A peer in both groups may be talking to either instance: its signature, which
                // names the instance, tells which (one check, only while an instance retires).
                let retiring = in_retiring
                    && (!in_current
                        || self
                            .retiring
                            .as_ref()
                            .is_some_and(|l| request.verify(&l.cfg).is_ok()));
                let link = if retiring { &self.retiring } else { &self.pbft };
                let Some(link) = link.as_ref().filter(|_| retiring || in_current) else {
                    self.counters.pbft_dropped += 1;
                    debug!(%peer, "pbft message from a peer outside the MS group dropped");
                    return;
                };
                if link
                    .replica
                    .try_send(Deliver(Event::Message(request)))
                    .is_err()
                {
                    self.counters.pbft_dropped += 1;
                    debug!(%peer, "pbft message dropped: the replica's mailbox is full");
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                self.counters.request_failures += 1;
                debug!(%peer, "bad pbft message from peer: {error}");
            }
            request_response::Event::OutboundFailure { peer, error, .. } => {
                debug!(%peer, "pbft message to peer failed: {error}");
            }
            _ => {}
        }
    }

    fn on_order(&mut self, ev: request_response::Event<SignedRequest, SignedReply>) {
        match ev {
            request_response::Event::Message {
                peer,
                message:
                    Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                let Some(replica) = self.pbft.as_ref().map(|l| l.replica.clone()) else {
                    debug!(%peer, "ordering request dropped: this node is not an MS replica");
                    return;
                };
                // A signer at its share may hold channels its clients gave up on.
                if self.intake.at_share(&request.request.client)
                    && self.replies_swept.elapsed() >= Duration::from_secs(1)
                {
                    self.forget_closed_replies();
                }
                let ms = self.ms_replicas();
                let config = self.view.borrow().config.clone();
                let who = Signers {
                    authority: &self.authority,
                    config: &config,
                    ms: &ms,
                    anyone: self.ms_runtime.is_none(),
                };
                if let Err(e) = self.intake.admit(&request, &who) {
                    debug!(%peer, "ordering request refused: {e}");
                    return;
                }
                let key = (request.request.client.to_bytes(), request.request.timestamp);
                if replica.try_send(Deliver(Event::Request(request))).is_err() {
                    self.intake.done(&key.0);
                    self.counters.pbft_dropped += 1;
                    return;
                }
                self.pending_replies.entry(key).or_default().push(channel);
            }
            request_response::Event::Message {
                message: Message::Response { response, .. },
                ..
            } => {
                let outs = self.submitter.on_reply(response, Instant::now());
                self.submit_do(outs);
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                self.counters.request_failures += 1;
                debug!(%peer, "ordering request failed: {error}");
            }
            _ => {}
        }
    }

    fn on_outbound(&mut self, o: Outbound) {
        let o = match o {
            Outbound::Ms(action) => return self.on_ms(action),
            Outbound::Approve(statement) => return self.tsig.approve_epoch(statement),
            Outbound::Handover { state, next } => return self.on_handover(state, next),
            Outbound::Evidence(e) => return self.report_evidence(*e),
            Outbound::Reply(reply) if self.submitter.is_mine(&reply.reply.client) => {
                let outs = self.submitter.on_reply(reply, Instant::now());
                return self.submit_do(outs);
            }
            // Only the instance retired last is still routed: an older one (epochs shorter
            // than its retirement) has no link left, and what it sends is dropped here.
            Outbound::Retired { instance, out } => {
                if self
                    .retiring
                    .as_ref()
                    .is_some_and(|l| l.cfg.instance == instance)
                {
                    self.send_pbft(*out, true);
                }
                return;
            }
            other => other,
        };
        self.send_pbft(o, false);
    }

    /// Sends a replica's message or reply: of the current instance, or of the retiring one.
    fn send_pbft(&mut self, o: Outbound, retiring: bool) {
        let link = if retiring { &self.retiring } else { &self.pbft };
        let Some(link) = link else { return };
        let instance = link.cfg.instance;
        let lie = |liar: &Option<crate::byzantine::Liar>, peer: usize, msg: Signed| match liar {
            Some(l) => l.pbft(&instance, peer, msg),
            None => vec![msg],
        };
        match o {
            Outbound::To(to, msg) => {
                if let Some(peer) = link.peers.get(to.0 as usize).copied() {
                    for msg in lie(&self.liar, to.0 as usize, msg) {
                        let msg = Undecoded::of(&msg);
                        self.swarm.behaviour_mut().pbft.send_request(&peer, msg);
                    }
                }
            }
            Outbound::All(msg) => {
                let me = peer_id_of_self(&self.swarm);
                for (i, peer) in link.peers.clone().into_iter().enumerate() {
                    if peer == me {
                        continue;
                    }
                    for msg in lie(&self.liar, i, msg.clone()) {
                        let msg = Undecoded::of(&msg);
                        self.swarm.behaviour_mut().pbft.send_request(&peer, msg);
                    }
                }
            }
            Outbound::Reply(reply) => {
                let key = (reply.reply.client.to_bytes(), reply.reply.timestamp);
                for ch in self.pending_replies.remove(&key).unwrap_or_default() {
                    self.intake.done(&key.0);
                    let _ = self
                        .swarm
                        .behaviour_mut()
                        .order
                        .send_response(ch, reply.clone());
                }
            }
            Outbound::Ms(_)
            | Outbound::Evidence(_)
            | Outbound::Approve(_)
            | Outbound::Handover { .. }
            | Outbound::Retired { .. } => {}
        }
        if self.intake.held() > ORDER_PENDING_MAX / 2
            && self.replies_swept.elapsed() >= Duration::from_secs(1)
        {
            self.forget_closed_replies();
        }
    }

    /// Channels of requests that will never be answered (the client went away, the request
    /// was a duplicate) expire with the request timeout: forget the closed ones and give their
    /// room back. A full scan, so at most once a second.
    fn forget_closed_replies(&mut self) {
        self.replies_swept = Instant::now();
        let intake = &mut self.intake;
        self.pending_replies.retain(|(signer, _), chs| {
            chs.retain(|c| {
                let open = c.is_open();
                if !open {
                    intake.done(signer);
                }
                open
            });
            !chs.is_empty()
        });
    }

    /// An HTTP analyser request, on the grounds its HTTP side found (`overlay::analyst`).
    fn answer_http(&mut self, ask: crate::analyzer::Ask) {
        let view = self.view.borrow().clone();
        let ring = self.current_ring(&view.config);
        let gate = self.gate(&view, &ring);
        let now = gate.now;
        let answer = match ask.grounds.admit(&gate, &self.revoked_tokens) {
            Err(why) => Err(why),
            Ok(_) if ask.want == crate::analyzer::Want::Status => Ok(Some(self.status(&view))),
            Ok(None) => Err("only a token can be logged out; this request carries none".into()),
            Ok(Some(t)) => self.revoked_tokens.revoke(t, now).map(|()| None),
        };
        if let Err(why) = &answer {
            debug!("HTTP analyser request refused: {why}");
        }
        let _ = ask.reply.send(answer);
    }

    /// Who may see this node's status over the control protocol: members, anyone on this
    /// host (the operator's `rampart status`), and analysts with a credential.
    fn answer_status(
        &mut self,
        peer: PeerId,
        connection: ConnectionId,
        request: Request,
    ) -> Response {
        let view = self.view.borrow().clone();
        match request {
            Request::Analyze(cert) => {
                let key = match &cert.content.body {
                    overlay::cert::CertBody::Client { key, .. } if peer_id_of(key) == peer => *key,
                    _ => {
                        return Response::Refused(
                            "the credential names another key than the connection's".into(),
                        );
                    }
                };
                let ring = self.current_ring(&view.config);
                match self.gate(&view, &ring).admit_analyst(&cert, Some(&key)) {
                    Ok(_) => Response::Status(Box::new(self.status(&view))),
                    Err(r) => Response::Refused(r.to_string()),
                }
            }
            _ if self.members.contains_key(&peer) || self.local_conns.contains(&connection) => {
                Response::Status(Box::new(self.status(&view)))
            }
            _ => Response::Refused(
                "status is for members and this node's own host; an analyst runs `rampart analyze --credential <an analyze credential>`".into(),
            ),
        }
    }

    /// The ring of `config`, built once per epoch: store requests and analysts' credentials
    /// are checked against it.
    fn current_ring(&mut self, config: &Configuration) -> Arc<Ring> {
        match &self.ring {
            Some((e, r)) if *e == config.epoch => r.clone(),
            _ => {
                let r = Arc::new(Ring::of(config));
                self.ring = Some((config.epoch, r.clone()));
                r
            }
        }
    }

    /// The access checks of the current configuration.
    fn gate<'a>(&'a self, view: &'a View, ring: &'a Ring) -> overlay::dbqs::access::Gate<'a> {
        overlay::dbqs::access::Gate {
            me: self.me,
            config: &view.config,
            ring,
            authority: &self.authority,
            now: crate::timeutil::now(),
        }
    }

    /// What this node refused at its bounds.
    fn refused(&self) -> Refused {
        let order = self.intake.counts();
        Refused {
            order_not_admitted: order.not_admitted,
            order_bad_signature: order.bad_signature,
            order_full: order.full,
            order_held: self.intake.held() as u64,
            freshness_rate: self.tsig.refused().0,
            sessions: self.tsig.refused().1,
            nonces: self.tsig.nonces_refused(),
            connections: self.counters.connections_refused,
            gossip: self.counters.gossip_rejected,
            pbft_outsider: self.counters.pbft_outsider,
            answer_bytes: self.answer_budget.refused(),
        }
    }

    fn status(&self, view: &View) -> StatusReport {
        let config = &view.config;
        let misses = self
            .prober
            .as_ref()
            .filter(|p| p.epoch() == config.epoch)
            .map(|p| p.misses());
        let members = config
            .members
            .iter()
            .map(|m| {
                let id = m.id();
                let connected = id == self.me || self.swarm.is_connected(&peer_id_of(&m.key));
                MemberStatus {
                    node: id,
                    addrs: m.addrs.clone(),
                    ms: config.in_ms_group(&id),
                    connected,
                    probe_age_secs: self.health.probe_age(&id),
                    probe_misses: misses
                        .filter(|_| id != self.me)
                        .map(|m| m.get(&id).copied().unwrap_or(0)),
                }
            })
            .collect();
        let history = self.health.history(view);
        let events = self.health.events(&history);
        let pbft = self.pbft.as_ref().map(|l| {
            let v = l.view.borrow().clone();
            PbftStatus {
                replica: v.me,
                view: v.view.0,
                active: v.active,
                primary: l.nodes.get(v.primary as usize).copied().unwrap_or(self.me),
                last_exec: v.last_exec,
                stable: v.stable,
                executed_ops: v.executed_ops,
                state: v.state,
                dropped: v.dropped,
                ms: v.ms,
            }
        });
        StatusReport {
            node: self.me,
            version: env!("CARGO_PKG_VERSION").to_string(),
            uptime_secs: self.started.elapsed().as_secs(),
            listen: self.swarm.listeners().map(|a| a.to_string()).collect(),
            http: self.http.as_ref().map(|(a, _)| a.clone()),
            epoch: config.epoch,
            config_hash: view.cert.statement.config_hash,
            f: config.f,
            f_ms: config.f_ms,
            members,
            pbft,
            store: self.store.as_ref().map(StoreLink::status),
            vnodes: config.vnodes,
            history,
            revoked: config.revoked.iter().map(|(c, t)| (*c, t.0)).collect(),
            events,
            refused: self.refused(),
        }
    }
}

/// Connections from this host remembered at once; more are treated as remote.
const LOCAL_CONNS_MAX: usize = 1024;

/// Whether a connection's remote address is on this host.
/// Whether `addr` is this host's own: 127.0.0.1 or ::1 only. The rest of 127.0.0.0/8 is
/// where containers and tests put other hosts (the flood test's attackers among them).
fn is_loopback(addr: &Multiaddr) -> bool {
    addr.iter().next().is_some_and(|p| match p {
        libp2p::multiaddr::Protocol::Ip4(ip) => ip == std::net::Ipv4Addr::LOCALHOST,
        libp2p::multiaddr::Protocol::Ip6(ip) => ip.is_loopback(),
        _ => false,
    })
}

fn peer_id_of_self(swarm: &Swarm<Behaviour>) -> PeerId {
    *swarm.local_peer_id()
}
