//! The task behind a [`Client`](super::Client): it owns the libp2p swarm (identity: the
//! client's credential key, so every connection proves the key), keeps the current
//! configuration (only one whose epoch certificate verifies under the MS key), and drives each
//! operation's state machine from `overlay::dbqs`: replies in, requests out, a timer that
//! resends to silent replicas, and a restart in the new epoch when replicas say the epoch moved.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::request_response::{self, Message};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm};
use overlay::cert::Certificate;
use overlay::config::Configuration;
use overlay::crypto::{PublicKey, SecretKey};
use overlay::dbqs::client::{Action, Group, Outcome, Read, Write};
use overlay::dbqs::content::{GetContent, PutContent};
use overlay::dbqs::journal::Journal;
use overlay::dbqs::object::keyed_id;
use overlay::dbqs::provenance::ContentProof;
use overlay::dbqs::replica::{Reply, Request};
use overlay::dbqs::wire::StoreRequest;
use overlay::epoch::EpochCert;
use overlay::id::{Epoch, Hash};
use overlay::ring::Ring;
use overlay::wire::{Request as ControlRequest, Response as ControlResponse};
use tokio::sync::{mpsc, oneshot};
use tracing::debug;

use super::ClientError;
use super::journal_file::JournalFile;
use super::links::{Heard, Links};
use crate::net::behaviour::{Behaviour, BehaviourEvent};
use crate::net::peers::{parse_addrs, peer_id_of};

/// How often the driver looks at its operations' timers: fine enough for the fallback.
const TICK: Duration = Duration::from_millis(10);
/// How long a replica may stay silent before the operation asks again (or asks another).
const RESEND_AFTER: Duration = Duration::from_millis(1500);
/// An operation asks 2f+1 replicas first; one still short of its quorum after this many
/// times the recent mean round trip of a reply asks the others too (never sooner than
/// `FALLBACK_MIN`). Round trips of replies, not of operations: a dead replica then makes
/// operations that fell back slower without making the next fallback later.
const FALLBACK_FACTOR: u32 = 3;
/// The earliest fallback, so that scheduling noise on an idle machine does not trigger it.
const FALLBACK_MIN: Duration = Duration::from_millis(20);
/// Restarts in a new epoch before an operation gives up.
const RESTARTS_MAX: u32 = 20;

/// One operation, as asked.
#[derive(Clone)]
pub enum OpKind {
    /// Write `value` (or delete) under `name`.
    Write {
        /// The object's name.
        name: Vec<u8>,
        /// The value; `None` deletes.
        value: Option<Vec<u8>>,
    },
    /// Read keyed object `id`.
    Read {
        /// The object.
        id: Hash,
    },
    /// Store a content object.
    PutContent {
        /// Its bytes.
        bytes: Vec<u8>,
    },
    /// Read a content object.
    GetContent {
        /// Its id.
        id: Hash,
    },
}

impl OpKind {
    fn object(&self, owner: &PublicKey) -> Hash {
        match self {
            OpKind::Write { name, .. } => keyed_id(owner, name),
            OpKind::Read { id } | OpKind::GetContent { id } => *id,
            OpKind::PutContent { bytes } => overlay::dbqs::object::content_id(bytes),
        }
    }
}

/// A command from the client handle.
pub enum Command {
    /// Run an operation.
    Op(OpKind, oneshot::Sender<Result<Outcome, ClientError>>),
    /// Report the current epoch (an error if no bootstrap peer can be reached).
    Epoch(oneshot::Sender<Result<Epoch, ClientError>>),
}

enum Machine {
    Write(Box<Write>),
    Read(Read),
    Put(PutContent),
    Get(GetContent),
}

impl Machine {
    fn on_reply(&mut self, from: usize, reply: Reply) -> Vec<Action> {
        match self {
            Machine::Write(m) => m.on_reply(from, reply),
            Machine::Read(m) => m.on_reply(from, reply),
            Machine::Put(m) => m.on_reply(from, reply),
            Machine::Get(m) => m.on_reply(from, reply),
        }
    }

    fn on_timer(&mut self) -> Vec<Action> {
        match self {
            Machine::Write(m) => m.on_timer(),
            Machine::Read(m) => m.on_timer(),
            Machine::Put(m) => m.on_timer(),
            Machine::Get(m) => m.on_timer(),
        }
    }
}

struct Running {
    kind: OpKind,
    machine: Machine,
    epoch: Epoch,
    peers: Vec<(PeerId, Vec<Multiaddr>)>,
    reply: oneshot::Sender<Result<Outcome, ClientError>>,
    deadline: Instant,
    /// When this start of the operation began.
    started: Instant,
    last_timer: Instant,
    /// Whether the fallback asked the replicas the first phase left out.
    fell_back: bool,
    restarts: u32,
    /// Set when the operation waits for a newer epoch before it starts again.
    waiting_since: Option<Instant>,
}

/// The driver's state.
pub struct Driver {
    swarm: Swarm<Behaviour>,
    key: SecretKey,
    credential: Certificate,
    ms_key: PublicKey,
    bootstrap: Vec<Multiaddr>,
    timeout: Duration,
    config: Option<(Arc<Configuration>, Arc<Ring>)>,
    ops: HashMap<u64, Running>,
    next_op: u64,
    /// The streams to replicas and the requests in flight on them: the operation, which
    /// start of it, the replica, the kind of request. A replica still working on a request is
    /// not sent another copy (values are up to 4 MiB); silence ends with the request's
    /// timeout or the stream's failure. The kind matters: a write's store phase must reach a
    /// replica whose answer to the query phase is still on its way.
    links: Links,
    /// Callers waiting for the first configuration.
    waiting: Vec<Command>,
    /// Rotates the replica each operation asks first, spreading load over the group.
    spread: usize,
    /// A moving mean of how long a replica takes to answer, for the fallback.
    latency: Duration,
    refresh_asked: Option<Instant>,
    /// Bootstrap dials that failed before any configuration arrived.
    bootstrap_failures: usize,
    /// Version numbers this process signed and has not seen complete, per object.
    journal: Journal,
    /// Those other processes of this client left in the journal file when this one started.
    inherited: Journal,
    /// Where the journal is kept.
    journal_file: Option<JournalFile>,
    /// Messages dropped on purpose (test builds only).
    fault: Fault,
}

/// Store requests a test build drops on purpose, to cut a write short the way a partition
/// would: `RAMPART_FAULT_WRITES_ONLY_TO=<i>` sends a write's store phase to the replica at
/// position `i` of the object's group only, `RAMPART_FAULT_READS_SKIP=<i>` never asks that
/// replica for a read (a write's query included). Release builds ignore both.
#[derive(Debug, Default, Clone, Copy)]
struct Fault {
    writes_only_to: Option<usize>,
    reads_skip: Option<usize>,
}

impl Fault {
    fn from_env() -> Fault {
        if !cfg!(debug_assertions) {
            return Fault::default();
        }
        let var = |k: &str| std::env::var(k).ok().and_then(|v| v.parse().ok());
        Fault {
            writes_only_to: var("RAMPART_FAULT_WRITES_ONLY_TO"),
            reads_skip: var("RAMPART_FAULT_READS_SKIP"),
        }
    }

    fn drops(&self, to: usize, req: &Request) -> bool {
        match req {
            Request::Write { .. } => self.writes_only_to.is_some_and(|i| i != to),
            Request::Read { .. } => self.reads_skip == Some(to),
            _ => false,
        }
    }
}

impl Driver {
    /// A driver for `swarm`, not yet connected.
    pub fn new(
        swarm: Swarm<Behaviour>,
        key: SecretKey,
        credential: Certificate,
        ms_key: PublicKey,
        bootstrap: Vec<Multiaddr>,
        timeout: Duration,
    ) -> Driver {
        let links = Links::new(swarm.behaviour().stream.new_control(), timeout);
        Driver {
            swarm,
            key,
            credential,
            ms_key,
            bootstrap,
            timeout,
            config: None,
            ops: HashMap::new(),
            next_op: 0,
            links,
            waiting: Vec::new(),
            spread: 0,
            latency: FALLBACK_MIN * 2,
            refresh_asked: None,
            bootstrap_failures: 0,
            journal: Journal::default(),
            inherited: Journal::default(),
            journal_file: None,
            fault: Fault::from_env(),
        }
    }

    /// The driver with the client's write journal file and what it held at the start.
    pub fn with_journal(mut self, inherited: Journal, file: Option<JournalFile>) -> Driver {
        self.inherited = inherited;
        self.journal_file = file;
        self
    }

    /// A quorum holds version `number` of `object`: its journal entries can go.
    fn settle_journal(&mut self, object: Hash, number: u64) {
        let mine = self.journal.settled(&object, number);
        let left = self.inherited.settled(&object, number);
        if let Some(f) = &mut self.journal_file {
            f.settled(object, number);
        }
        if (mine || left)
            && let Err(e) = self.save_journal()
        {
            // Only costs a version number next time: the entry stays on disk.
            debug!("cannot update the write journal: {e}");
        }
    }

    /// The number the next version of `object` must be above.
    fn floor(&self, object: &Hash) -> u64 {
        self.journal.floor(object).max(self.inherited.floor(object))
    }

    /// Records a write's newly signed version in the journal, durably, before it is sent.
    fn journal_signed(&mut self, id: u64) -> Result<(), ClientError> {
        let Some(Machine::Write(w)) = self.ops.get(&id).map(|op| &op.machine) else {
            return Ok(());
        };
        let Some(v) = w.signed() else {
            return Ok(());
        };
        let (object, number) = (w.object(), v.stamp.number);
        if number <= self.floor(&object) {
            return Ok(());
        }
        self.journal
            .signed(object, number)
            .map_err(|e| ClientError::Local(e.to_string()))?;
        self.save_journal()
            .map_err(|e| ClientError::Local(format!("{e}; the write's version was not sent")))
    }

    fn save_journal(&mut self) -> Result<(), ClientError> {
        match &mut self.journal_file {
            Some(f) => f.save(&self.journal),
            None => Ok(()),
        }
    }

    /// Runs until every handle is dropped.
    pub async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        for addr in self.bootstrap.clone() {
            if let Err(e) = self.swarm.dial(addr.clone()) {
                debug!(%addr, "cannot dial bootstrap peer: {e}");
            }
        }
        let mut tick = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                ev = self.swarm.select_next_some() => self.on_swarm(ev),
                Some(ev) = self.links.events_rx.recv() => self.on_link(ev),
                cmd = commands.recv() => match cmd {
                    Some(c) => self.on_command(c),
                    None => return,
                },
                _ = tick.tick() => self.on_tick(),
            }
        }
    }

    fn on_command(&mut self, cmd: Command) {
        if self.config.is_none() {
            self.waiting.push(cmd);
            return;
        }
        match cmd {
            Command::Epoch(tx) => {
                let _ = tx.send(Ok(self.epoch()));
            }
            Command::Op(kind, reply) => {
                let id = self.next_op;
                self.next_op += 1;
                let deadline = Instant::now() + self.timeout;
                self.start(id, kind, reply, deadline, 0, None);
            }
        }
    }

    fn epoch(&self) -> Epoch {
        self.config
            .as_ref()
            .map(|(c, _)| c.epoch)
            .unwrap_or_default()
    }

    /// Starts (or restarts, given the machine that ran before) operation `id` in the current
    /// epoch.
    fn start(
        &mut self,
        id: u64,
        kind: OpKind,
        reply: oneshot::Sender<Result<Outcome, ClientError>>,
        deadline: Instant,
        restarts: u32,
        before: Option<Machine>,
    ) {
        let Some((config, ring)) = self.config.clone() else {
            let _ = reply.send(Err(ClientError::Config("no configuration yet".into())));
            return;
        };
        let object = kind.object(&self.key.public());
        let group_ids = ring.replica_group(&object);
        let peers: Vec<(PeerId, Vec<Multiaddr>)> = group_ids
            .iter()
            .filter_map(|n| config.member(n))
            .map(|m| (peer_id_of(&m.key), parse_addrs(&m.addrs).0))
            .collect();
        let n = peers.len();
        if n == 0 {
            let _ = reply.send(Err(ClientError::Config("the ring is empty".into())));
            return;
        }
        let g = Group {
            n,
            f: (config.f as usize).min((n - 1) / 3),
        };
        self.spread = self.spread.wrapping_add(1);
        let first = self.spread % n;
        let (machine, acts) = match kind.clone() {
            OpKind::Write { name, value } => {
                let (m, a) = match before {
                    // A version already signed is stored again as it is, never signed anew
                    // (a reader may have seen it; see `Write::restart`).
                    Some(Machine::Write(w)) => w.restart(g),
                    _ => Write::start_with(
                        g,
                        SecretKey::from_seed(&self.key.seed()),
                        name,
                        value,
                        Some(self.credential.clone()),
                        first,
                    ),
                };
                let mut m = m;
                m.sign_above(self.floor(&m.object()));
                (Machine::Write(Box::new(m)), a)
            }
            OpKind::Read { id } => {
                let (m, a) = Read::start(g, id, first);
                (Machine::Read(m), a)
            }
            OpKind::PutContent { bytes } => {
                let owner = SecretKey::from_seed(&self.key.seed());
                let id = overlay::dbqs::object::content_id(&bytes);
                let proof = ContentProof::sign(&owner, id, self.credential.clone());
                let (m, a) = PutContent::start(g, bytes, proof);
                (Machine::Put(m), a)
            }
            OpKind::GetContent { id } => {
                let (m, a) = GetContent::start(g, id, first);
                (Machine::Get(m), a)
            }
        };
        self.ops.insert(
            id,
            Running {
                kind,
                machine,
                epoch: config.epoch,
                peers,
                reply,
                deadline,
                started: Instant::now(),
                last_timer: Instant::now(),
                fell_back: false,
                restarts,
                waiting_since: None,
            },
        );
        self.perform(id, acts);
    }

    fn perform(&mut self, id: u64, acts: Vec<Action>) {
        for a in acts {
            match a {
                Action::Send { to, req } => self.send(id, to, req),
                Action::Done(outcome) => self.finish(id, outcome),
            }
        }
    }

    fn send(&mut self, id: u64, to: usize, req: Request) {
        let Some(op) = self.ops.get(&id) else { return };
        if self.fault.drops(to, &req) {
            return;
        }
        let Some((peer, addrs)) = op.peers.get(to).cloned() else {
            return;
        };
        let key = (id, op.restarts, to, std::mem::discriminant(&req));
        if self.links.in_flight(&key) {
            return;
        }
        let msg = StoreRequest {
            epoch: op.epoch,
            credential: self.credential.clone(),
            req,
        };
        let start = op.restarts;
        if let Err(e) = self.links.send(&mut self.swarm, peer, addrs, key, &msg) {
            debug!(op = id, replica = to, "store request not sent: {e}");
            self.fall_back_now(id, start);
        }
    }

    fn finish(&mut self, id: u64, outcome: Outcome) {
        let Some(mut op) = self.ops.remove(&id) else {
            return;
        };
        if let Outcome::Refused(r) = &outcome
            && r.is_transient()
            && op.restarts < RESTARTS_MAX
        {
            // Replicas are in another epoch or busy: learn the newest configuration, then
            // start over a little later.
            if r.is_epoch() {
                self.refresh();
            }
            op.waiting_since = Some(Instant::now());
            self.ops.insert(id, op);
            return;
        }
        if let (Outcome::Written(key), Machine::Write(w)) = (&outcome, &op.machine) {
            self.settle_journal(w.object(), key.number);
        }
        let result = match outcome {
            Outcome::Refused(r) => Err(ClientError::Refused(r)),
            other => Ok(other),
        };
        let _ = op.reply.send(result);
    }

    /// Folds one reply's round trip into the moving mean (weight 1/8).
    fn note_latency(&mut self, took: Duration) {
        self.latency = (self.latency * 7 + took.min(RESEND_AFTER)) / 8;
    }

    /// How long the first phase waits on its 2f+1 replicas before asking the rest.
    fn fallback_after(&self) -> Duration {
        (self.latency * FALLBACK_FACTOR).clamp(FALLBACK_MIN, RESEND_AFTER)
    }

    /// The fallback of operation `id` (in its `start`-th start), once and at once.
    fn fall_back_now(&mut self, id: u64, start: u32) {
        let acts = match self.ops.get_mut(&id) {
            Some(op) if !op.fell_back && op.waiting_since.is_none() && op.restarts == start => {
                op.fell_back = true;
                op.last_timer = Instant::now();
                op.machine.on_timer()
            }
            _ => return,
        };
        self.perform(id, acts);
    }

    fn on_tick(&mut self) {
        let now = Instant::now();
        let fallback = self.fallback_after();
        let epoch = self.epoch();
        let mut restart = Vec::new();
        let mut expired = Vec::new();
        let mut resend = Vec::new();
        for (id, op) in &mut self.ops {
            if now >= op.deadline {
                expired.push(*id);
            } else if let Some(since) = op.waiting_since {
                // Start again once a newer epoch arrived, or after a while in any case (the
                // replica that was behind may have caught up).
                if epoch > op.epoch || now.duration_since(since) > RESEND_AFTER {
                    restart.push(*id);
                }
            } else if now.duration_since(op.last_timer) >= RESEND_AFTER
                || (!op.fell_back && now.duration_since(op.started) >= fallback)
            {
                op.fell_back = true;
                op.last_timer = now;
                resend.push(*id);
            }
        }
        for id in expired {
            if let Some(op) = self.ops.remove(&id) {
                let _ = op.reply.send(Err(ClientError::Timeout(self.timeout)));
            }
        }
        for id in restart {
            if let Some(op) = self.ops.remove(&id) {
                self.start(
                    id,
                    op.kind,
                    op.reply,
                    op.deadline,
                    op.restarts + 1,
                    Some(op.machine),
                );
            }
        }
        for id in resend {
            let acts = match self.ops.get_mut(&id) {
                Some(op) => op.machine.on_timer(),
                None => continue,
            };
            self.perform(id, acts);
        }
        if self.config.is_none() && self.refresh_due() {
            self.refresh();
        }
        self.links.sweep();
    }

    fn refresh_due(&self) -> bool {
        self.refresh_asked
            .is_none_or(|t| t.elapsed() > Duration::from_secs(1))
    }

    /// Asks connected peers (members or bootstrap peers) for their configuration.
    fn refresh(&mut self) {
        if !self.refresh_due() {
            return;
        }
        self.refresh_asked = Some(Instant::now());
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        if peers.is_empty() {
            for addr in self.bootstrap.clone() {
                let _ = self.swarm.dial(addr);
            }
        }
        for p in peers {
            self.swarm
                .behaviour_mut()
                .control
                .send_request(&p, ControlRequest::Configuration);
        }
    }

    fn on_swarm(&mut self, ev: SwarmEvent<BehaviourEvent>) {
        match ev {
            SwarmEvent::ConnectionEstablished { peer_id, .. } if self.config.is_none() => {
                self.swarm
                    .behaviour_mut()
                    .control
                    .send_request(&peer_id, ControlRequest::Configuration);
            }
            SwarmEvent::OutgoingConnectionError { error, .. } => {
                debug!("connection failed: {error}");
                if self.config.is_none() {
                    self.bootstrap_failures += 1;
                    if self.bootstrap_failures >= self.bootstrap.len() {
                        self.fail_waiting(format!("cannot reach any bootstrap peer: {error}"));
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Control(request_response::Event::Message {
                peer,
                message: Message::Response { response, .. },
                ..
            })) => self.on_control(peer, response),
            _ => {}
        }
    }

    /// Answers callers waiting for the first configuration with an error.
    fn fail_waiting(&mut self, why: String) {
        for cmd in std::mem::take(&mut self.waiting) {
            match cmd {
                Command::Epoch(tx) => {
                    let _ = tx.send(Err(ClientError::Config(why.clone())));
                }
                Command::Op(_, tx) => {
                    let _ = tx.send(Err(ClientError::Config(why.clone())));
                }
            }
        }
    }

    fn on_control(&mut self, peer: PeerId, response: ControlResponse) {
        let ControlResponse::Config { config, cert } = response else {
            return;
        };
        if let Err(e) = self.adopt(*config, cert) {
            debug!(%peer, "configuration not adopted: {e}");
        }
    }

    /// Keeps `config` if its certificate verifies under the MS key and it is newer.
    fn adopt(&mut self, config: Configuration, cert: EpochCert) -> Result<(), String> {
        cert.verify(&self.ms_key).map_err(|e| e.to_string())?;
        if cert.statement.config_hash != config.hash() || cert.statement.epoch != config.epoch {
            return Err("the configuration is not the one the certificate signs".into());
        }
        config.validate().map_err(|e| e.to_string())?;
        if self.config.is_some() && config.epoch <= self.epoch() {
            return Ok(());
        }
        debug!(epoch = %config.epoch, "configuration adopted");
        let ring = Arc::new(Ring::of(&config));
        self.config = Some((Arc::new(config), ring));
        for cmd in std::mem::take(&mut self.waiting) {
            self.on_command(cmd);
        }
        Ok(())
    }

    fn on_link(&mut self, ev: crate::net::store_stream::ClientEvent) {
        match self.links.on_event(ev) {
            Some(Heard::Reply { key, sent, reply }) => {
                let (id, start, from, _) = key;
                self.note_latency(sent.elapsed());
                if reply.epoch > self.epoch() {
                    self.refresh();
                }
                let acts = match self.ops.get_mut(&id) {
                    Some(op) if op.waiting_since.is_none() && op.restarts == start => {
                        op.machine.on_reply(from, reply.reply)
                    }
                    _ => return,
                };
                if let Err(e) = self.journal_signed(id) {
                    if let Some(op) = self.ops.remove(&id) {
                        let _ = op.reply.send(Err(e));
                    }
                    return;
                }
                self.perform(id, acts);
            }
            Some(Heard::Failed(lost, error)) => {
                // Counted as silence, except that an operation still in its first phase asks
                // the replicas it left out now rather than at its fallback time.
                for (id, start, from, _) in lost {
                    debug!(op = id, replica = from, "store stream failed: {error}");
                    self.fall_back_now(id, start);
                }
            }
            None => {}
        }
    }
}
