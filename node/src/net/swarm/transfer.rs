//! The network task's part in state transfer (DESIGN.md §4): it feeds each new configuration
//! to the replica's `Mover` (overlay::transfer::mover), carries the mover's questions to other
//! replicas and their answers back, answers theirs from the store, parks client requests
//! whose object has not arrived yet, and hands objects to an applier task that stores them in
//! order at a bounded rate. The mover's state is saved to a file after every change, so a
//! restarted node resumes each range from its last stored page.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::Addr;
use libp2p::PeerId;
use libp2p::request_response::{self, Message, OutboundRequestId, ResponseChannel};
use overlay::config::Configuration;
use overlay::dbqs::replica::{Refusal, Reply, Request};
use overlay::dbqs::wire::StoreRequest;
use overlay::encoding::{decode, encode};
use overlay::epoch::EpochCert;
use overlay::id::{Epoch, Hash, NodeId};
use overlay::ring::Range;
use overlay::transfer::gate;
use overlay::transfer::mover::{
    Admit, Applied, FetchId, Item, Mover, Note, Out, Saved, Settings, Token,
};
use overlay::transfer::wire::{Answer, Ask, TransferReply, TransferRequest};
use overlay::wire::TransferStatus;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use actors::dbqs::{DeleteRange, List, Serve, StoreActor, Writer};

use super::NetTask;
use crate::net::peers::{parse_addrs, peer_id_of};
use crate::net::store_stream::Replier;

/// Past configurations remembered, to plan from and to serve peers that skipped epochs.
const HISTORY_EPOCHS: usize = 64;
/// Transfer requests from other replicas being answered at once; more are refused.
const ANSWERING_MAX: usize = 256;
/// Largest saved state read back.
const SAVED_BYTES_MAX: usize = 64 * 1024 * 1024;
/// How often owners are asked whether stray ranges may go.
const SWEEP_EVERY: Duration = Duration::from_secs(5);
/// How often progress is logged while ranges are pending.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// Work for the applier, in order.
pub enum Job {
    /// Store these, then report.
    Apply(Vec<Item>, Applied),
    /// Delete a range no longer owned.
    Delete(Range),
}

/// What the applier did.
pub enum Finished {
    /// A batch is stored.
    Applied {
        /// For the mover.
        after: Applied,
        /// Objects in it.
        objects: u64,
        /// Bytes of values in it.
        bytes: u64,
    },
    /// A range was deleted.
    Deleted(Range, u64),
    /// Storing failed; the fetch stalls until the node restarts.
    Failed(String),
}

/// A client request waiting for its object.
struct Parked {
    peer: PeerId,
    msg: StoreRequest,
    channel: Replier,
    size: usize,
}

/// An answer on its way back to an asking replica.
pub type Answered = (ResponseChannel<TransferReply>, TransferReply, Ask);

/// Transfer state of the node.
pub struct TransferLink {
    mover: Mover,
    state_path: PathBuf,
    history: BTreeMap<Epoch, (Arc<Configuration>, EpochCert)>,
    outgoing: HashMap<OutboundRequestId, (FetchId, NodeId, Ask)>,
    parked: HashMap<Token, Parked>,
    next_token: Token,
    jobs: mpsc::UnboundedSender<Job>,
    jobs_rx: Option<mpsc::UnboundedReceiver<Job>>,
    finished_tx: mpsc::UnboundedSender<Finished>,
    /// What the applier did, drained by the task's loop.
    pub finished_rx: mpsc::UnboundedReceiver<Finished>,
    answers_tx: mpsc::Sender<Answered>,
    /// Answers from the store, drained by the task's loop.
    pub answers_rx: mpsc::Receiver<Answered>,
    answering: usize,
    rate: Option<u64>,
    counters: TransferStatus,
    /// Bytes applied, with when, for the recent rate.
    recent: std::collections::VecDeque<(Instant, u64)>,
    last_log: Instant,
    last_sweep: Instant,
    asked_config: Option<(Epoch, Instant)>,
}

impl TransferLink {
    /// The transfer state kept in `data_dir`; `rate` bounds bytes stored a second.
    /// `empty` says the store holds nothing (a first start): then no stray data can exist.
    pub fn new(
        me: NodeId,
        authority: overlay::crypto::PublicKey,
        data_dir: &std::path::Path,
        rate: Option<u64>,
        ranges_at_once: usize,
        empty: bool,
    ) -> anyhow::Result<TransferLink> {
        let state_path = data_dir.join("transfer.state");
        let saved: Saved = match std::fs::read(&state_path) {
            Ok(b) => decode(&b, SAVED_BYTES_MAX)
                .map_err(|e| anyhow::anyhow!("{}: {e}", state_path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && empty => Saved {
                dirty: overlay::ring::RangeSet::new(),
                ..Saved::default()
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Saved::default(),
            Err(e) => anyhow::bail!("{}: {e}", state_path.display()),
        };
        let settings = Settings {
            running_max: ranges_at_once,
            ..Settings::default()
        };
        let (jobs, jobs_rx) = mpsc::unbounded_channel();
        let (finished_tx, finished_rx) = mpsc::unbounded_channel();
        let (answers_tx, answers_rx) = mpsc::channel(ANSWERING_MAX);
        Ok(TransferLink {
            mover: Mover::new(me, authority, settings, saved),
            state_path,
            history: BTreeMap::new(),
            outgoing: HashMap::new(),
            parked: HashMap::new(),
            next_token: 0,
            jobs,
            jobs_rx: Some(jobs_rx),
            finished_tx,
            finished_rx,
            answers_tx,
            answers_rx,
            answering: 0,
            rate,
            counters: TransferStatus::default(),
            recent: std::collections::VecDeque::new(),
            last_log: Instant::now(),
            last_sweep: Instant::now(),
            asked_config: None,
        })
    }

    /// Starts the applier: one task storing batches in order. The queue is unbounded but
    /// short: each fetch keeps at most a window of objects unstored (fetch::WINDOW).
    pub fn start_applier(&mut self, actor: Addr<StoreActor>, writer: Writer) {
        let Some(mut rx) = self.jobs_rx.take() else {
            return;
        };
        let done = self.finished_tx.clone();
        let rate = self.rate;
        tokio::spawn(async move {
            let mut next_free = tokio::time::Instant::now();
            while let Some(job) = rx.recv().await {
                let fin = match job {
                    Job::Apply(items, after) => {
                        let bytes: u64 = items.iter().map(item_bytes).sum();
                        let objects = items.len() as u64;
                        if let Some(r) = rate.filter(|r| *r > 0) {
                            // Token bucket: each byte takes 1/rate seconds of budget.
                            let now = tokio::time::Instant::now();
                            if next_free > now {
                                tokio::time::sleep_until(next_free).await;
                            }
                            next_free = next_free.max(now)
                                + Duration::from_secs_f64(bytes as f64 / r as f64);
                        }
                        let res = if items.is_empty() {
                            Ok(())
                        } else {
                            writer.absorb(items).await
                        };
                        match res {
                            Ok(()) => Finished::Applied {
                                after,
                                objects,
                                bytes,
                            },
                            Err(e) => Finished::Failed(e),
                        }
                    }
                    Job::Delete(range) => match actor.send(DeleteRange(range)).await {
                        Ok(Ok(n)) => Finished::Deleted(range, n),
                        Ok(Err(e)) => Finished::Failed(e),
                        Err(e) => Finished::Failed(format!("store unavailable: {e}")),
                    },
                };
                if done.send(fin).is_err() {
                    return;
                }
            }
        });
    }

    fn save(&self, saved: &Saved) {
        let tmp = self.state_path.with_extension("tmp");
        let res = (|| -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&encode(saved))?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.state_path)
        })();
        if let Err(e) = res {
            warn!(path = %self.state_path.display(), "cannot save transfer state: {e}");
        }
    }

    fn remember(&mut self, config: Arc<Configuration>, cert: EpochCert) {
        self.history.insert(config.epoch, (config, cert));
        while self.history.len() > HISTORY_EPOCHS {
            self.history.pop_first();
        }
    }

    /// The configuration of a past epoch, if remembered.
    pub fn past(&self, epoch: Epoch) -> Option<(Arc<Configuration>, EpochCert)> {
        self.history.get(&epoch).cloned()
    }

    /// Progress for status.
    pub fn status(&self) -> TransferStatus {
        let r = self.mover.report();
        let rate = self.rate_now();
        let left = r.bytes as f64 * (1.0 - r.done) / r.done.max(1e-9);
        TransferStatus {
            waiting: r.waiting,
            pending_ranges: r.pending_ranges as u64,
            running: r.running as u64,
            parked: r.parked as u64,
            objects: r.objects,
            bytes: r.bytes,
            done_permille: (r.done * 1000.0).round() as u32,
            rate_bytes_s: rate,
            eta_secs: (r.pending_ranges > 0 && rate > 0 && r.done > 0.0)
                .then(|| (left / rate as f64).ceil() as u64),
            owned_permille: (r.owned_share * 1000.0).round() as u32,
            retained_permille: (r.retained_share * 1000.0).round() as u32,
            refused_answers: r.refused_answers,
            unheld_entries: r.unheld_entries,
            ..self.counters.clone()
        }
    }

    fn rate_now(&self) -> u64 {
        let Some((first, _)) = self.recent.front() else {
            return 0;
        };
        let secs = first.elapsed().as_secs_f64().max(1.0);
        let bytes: u64 = self.recent.iter().map(|(_, b)| b).sum();
        (bytes as f64 / secs) as u64
    }
}

fn item_bytes(i: &Item) -> u64 {
    match i {
        Item::Version(v) => v.value.as_ref().map_or(0, Vec::len) as u64,
        Item::Content(c) => c.bytes.len() as u64,
    }
}

/// The object a client request is about, if it is about one already stored.
pub fn object_of(req: &Request) -> Option<Hash> {
    match req {
        Request::Read { id } | Request::GetContent { id } => Some(*id),
        Request::Write { version } => Some(version.id()),
        Request::PutContent { .. } => None,
    }
}

impl NetTask {
    fn moving(&mut self) -> Option<&mut TransferLink> {
        self.store.as_mut().map(|l| &mut l.moving)
    }

    /// A new view: remember its configuration and let the mover plan.
    pub(super) fn transfer_epoch(&mut self) {
        let view = self.view.borrow().clone();
        let Some(t) = self.moving() else {
            return;
        };
        for (c, cert) in view.history.values() {
            t.remember(c.clone(), *cert);
        }
        let prev = view
            .config
            .epoch
            .0
            .checked_sub(1)
            .and_then(|e| t.past(Epoch(e)));
        let outs = t.mover.on_epoch(&view.config, prev.as_ref().map(|p| &*p.0));
        self.transfer_do(outs);
    }

    /// A configuration a peer sent: if the mover waits for that epoch, it gets it once the
    /// certificate verifies under the MS key.
    pub(super) fn transfer_past_config(&mut self, config: &Configuration, cert: &EpochCert) {
        let ms_key = self.ms_key;
        let Some(t) = self.moving() else {
            return;
        };
        if t.asked_config.is_none_or(|(e, _)| e != config.epoch) {
            return;
        }
        if cert.verify(&ms_key).is_err()
            || cert.statement.epoch != config.epoch
            || cert.statement.config_hash != config.hash()
        {
            warn!(
                epoch = config.epoch.0,
                "a past configuration did not verify"
            );
            return;
        }
        t.asked_config = None;
        t.remember(Arc::new(config.clone()), *cert);
        let outs = t.mover.on_config(config);
        self.transfer_do(outs);
    }

    /// Ask the mover whether a client request for `object` may go ahead; `Some` gives it
    /// back to serve now, `None` means it was parked or refused here.
    pub(super) fn transfer_admit(
        &mut self,
        peer: PeerId,
        msg: StoreRequest,
        channel: Replier,
        size: usize,
    ) -> Option<(StoreRequest, Replier)> {
        let Some(object) = object_of(&msg.req) else {
            return Some((msg, channel));
        };
        let t = self.moving()?;
        let token = t.next_token;
        t.next_token += 1;
        let (admit, outs) = t.mover.admit(&object, token);
        let back = match admit {
            Admit::Serve => Some((msg, channel)),
            Admit::Parked => {
                t.parked.insert(
                    token,
                    Parked {
                        peer,
                        msg,
                        channel,
                        size,
                    },
                );
                None
            }
            Admit::Busy => {
                self.store_refuse(peer, channel, Refusal::Busy);
                None
            }
        };
        self.transfer_do(outs);
        back
    }

    /// Carries out what the mover asks.
    pub(super) fn transfer_do(&mut self, outs: Vec<Out>) {
        for o in outs {
            match o {
                Out::Send { to, fetch, ask } => self.transfer_send(to, fetch, ask),
                Out::Apply { items, after } => {
                    if let Some(t) = self.moving() {
                        let _ = t.jobs.send(Job::Apply(items, after));
                    }
                }
                Out::Save(saved) => {
                    if let Some(t) = self.moving() {
                        t.save(&saved);
                    }
                }
                Out::Release(tokens) => {
                    for tok in tokens {
                        let Some(p) = self.moving().and_then(|t| t.parked.remove(&tok)) else {
                            continue;
                        };
                        self.store_serve(p.peer, p.msg, p.channel, p.size);
                    }
                }
                Out::Refuse(tokens) => {
                    for tok in tokens {
                        let Some(p) = self.moving().and_then(|t| t.parked.remove(&tok)) else {
                            continue;
                        };
                        self.store_refuse(p.peer, p.channel, Refusal::Busy);
                    }
                }
                Out::NeedConfig(epoch) => self.ask_past_config(epoch),
                Out::Delete(range) => {
                    if let Some(t) = self.moving() {
                        let _ = t.jobs.send(Job::Delete(range));
                    }
                }
                Out::Note(n) => {
                    if let (Note::Finished { .. }, Some(t)) = (&n, self.moving()) {
                        t.counters.ranges_finished += 1;
                    }
                    note(n)
                }
            }
        }
    }

    fn ask_past_config(&mut self, epoch: Epoch) {
        let Some(t) = self.moving() else {
            return;
        };
        if let Some((cfg, _)) = t.past(epoch) {
            let outs = t.mover.on_config(&cfg);
            self.transfer_do(outs);
            return;
        }
        t.asked_config = Some((epoch, Instant::now()));
        info!(
            epoch = epoch.0,
            "asking members for a past configuration to plan state transfer"
        );
        for p in self.connected_members() {
            self.swarm
                .behaviour_mut()
                .control
                .send_request(&p, overlay::wire::Request::PastConfig { epoch });
        }
    }

    /// The peer id and addresses of `node` in the current or a remembered configuration
    /// (an old replica may have left since).
    fn locate(&self, node: &NodeId) -> Option<(PeerId, Vec<libp2p::Multiaddr>)> {
        let view = self.view.borrow();
        let mut configs: Vec<Arc<Configuration>> = vec![view.config.clone()];
        if let Some(l) = &self.store {
            configs.extend(l.moving.history.values().rev().map(|(c, _)| c.clone()));
        }
        configs.iter().find_map(|c| {
            let m = c.member(node)?;
            Some((peer_id_of(&m.key), parse_addrs(&m.addrs).0))
        })
    }

    fn transfer_send(&mut self, to: NodeId, fetch: FetchId, ask: Ask) {
        let Some((peer, addrs)) = self.locate(&to) else {
            debug!(node = ?to, "transfer: no address for an old replica");
            return;
        };
        if !self.swarm.is_connected(&peer) {
            for a in addrs {
                self.swarm.add_peer_address(peer, a);
            }
        }
        let epoch = self.current_epoch();
        let id = self.swarm.behaviour_mut().transfer.send_request(
            &peer,
            TransferRequest {
                epoch,
                ask: ask.clone(),
            },
        );
        if let Some(t) = self.moving() {
            t.outgoing.insert(id, (fetch, to, ask));
        }
    }

    /// The periodic timer (once a second).
    pub(super) fn transfer_tick(&mut self) {
        let Some(t) = self.moving() else {
            return;
        };
        let mut outs = t.mover.on_timer();
        if t.last_sweep.elapsed() >= SWEEP_EVERY {
            t.last_sweep = Instant::now();
            outs.extend(t.mover.sweep());
        }
        while t
            .recent
            .front()
            .is_some_and(|(at, _)| at.elapsed() > Duration::from_secs(10))
        {
            t.recent.pop_front();
        }
        let again = t
            .asked_config
            .filter(|(_, at)| at.elapsed() >= Duration::from_secs(2))
            .map(|(e, _)| e);
        if t.last_log.elapsed() >= LOG_EVERY {
            t.last_log = Instant::now();
            let s = t.status();
            if s.pending_ranges > 0 || s.waiting {
                info!(
                    pending_ranges = s.pending_ranges,
                    objects = s.objects,
                    bytes = s.bytes,
                    percent = f64::from(s.done_permille) / 10.0,
                    rate_bytes_s = s.rate_bytes_s,
                    eta_secs = ?s.eta_secs,
                    parked = s.parked,
                    waiting_for_config = s.waiting,
                    "state transfer in progress"
                );
            }
        }
        self.transfer_do(outs);
        if let Some(e) = again {
            self.ask_past_config(e);
        }
    }

    /// The applier finished a job.
    pub(super) fn transfer_finished(&mut self, fin: Finished) {
        let Some(t) = self.moving() else {
            return;
        };
        let outs = match fin {
            Finished::Applied {
                after,
                objects,
                bytes,
            } => {
                t.counters.objects_fetched += objects;
                t.counters.bytes_fetched += bytes;
                if bytes > 0 {
                    t.recent.push_back((Instant::now(), bytes));
                }
                t.mover.on_applied(after)
            }
            Finished::Deleted(range, n) => {
                t.counters.ranges_deleted += 1;
                t.counters.objects_deleted += n;
                debug!(?range, objects = n, "deleted a range no longer owned");
                Vec::new()
            }
            Finished::Failed(e) => {
                warn!("state transfer cannot store: {e}");
                Vec::new()
            }
        };
        self.transfer_do(outs);
    }

    pub(super) fn on_transfer(
        &mut self,
        ev: request_response::Event<TransferRequest, TransferReply>,
    ) {
        match ev {
            request_response::Event::Message { peer, message, .. } => match message {
                Message::Request {
                    request, channel, ..
                } => {
                    if self.liar.as_ref().is_none_or(|l| l.speaks()) {
                        self.transfer_request(peer, request, channel)
                    }
                }
                Message::Response {
                    request_id,
                    response,
                } => self.transfer_reply(request_id, response),
            },
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => {
                if let Some(t) = self.moving() {
                    t.outgoing.remove(&request_id);
                }
                debug!("transfer request failed: {error}");
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                self.counters.request_failures += 1;
                debug!(%peer, "bad or failed transfer request: {error}");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn transfer_reply(&mut self, id: OutboundRequestId, reply: TransferReply) {
        let Some(t) = self.moving() else {
            return;
        };
        let Some((fetch, from, ask)) = t.outgoing.remove(&id) else {
            return;
        };
        let outs = match (reply.answer, ask) {
            (Answer::Page(page), Ask::List { req, .. }) => {
                t.mover.on_page(fetch, &from, &req, page)
            }
            (Answer::Object(r), Ask::Get { req, .. }) => match object_of(&req) {
                Some(object) => t.mover.on_object(fetch, &from, object, r),
                None => Vec::new(),
            },
            (Answer::Complete(yes), Ask::Complete { epoch, ranges }) => {
                t.mover.on_complete(&from, epoch, &ranges, &yes)
            }
            (Answer::Refused(why), _) => {
                debug!(node = ?from, "transfer request refused: {why}");
                Vec::new()
            }
            _ => {
                debug!(node = ?from, "transfer answer does not fit the question");
                Vec::new()
            }
        };
        if reply.epoch > self.current_epoch() {
            // The old replica is ahead: catch up (the answer's claim is checked when the
            // configuration arrives).
            self.exchange_all();
        }
        self.transfer_do(outs);
    }

    /// Whether `peer` may have the answer to `ask` (see `overlay::transfer::gate`).
    fn transfer_gate(&self, peer: &PeerId, ask: &Ask) -> Result<(), String> {
        let view = self.view.borrow();
        let current = &view.config;
        let history = self.store.as_ref().map(|l| &l.moving.history);
        let find = |c: &Configuration| {
            c.members
                .iter()
                .find(|m| peer_id_of(&m.key) == *peer)
                .map(|m| m.id())
        };
        // Unknown peers get the same refusal as a removed node with some id.
        let asker = find(current)
            .or_else(|| history.and_then(|h| h.values().rev().find_map(|(c, _)| find(c))))
            .unwrap_or(NodeId(Hash([0; 32])));
        let of = |e: Epoch| history.and_then(|h| h.get(&e)).map(|(c, _)| &**c);
        let known = gate::Known { current, of: &of };
        gate::may_ask(&asker, ask, &known)
    }

    fn transfer_request(
        &mut self,
        peer: PeerId,
        req: TransferRequest,
        channel: ResponseChannel<TransferReply>,
    ) {
        let epoch = self.current_epoch();
        let refuse = |why: String| TransferReply {
            epoch,
            answer: Answer::Refused(why),
        };
        // Data goes to members only (overlay::transfer::gate).
        let member = self.transfer_gate(&peer, &req.ask);
        if req.epoch > epoch {
            self.exchange_all();
        }
        let actor = self.store.as_ref().map(|l| l.actor.clone());
        let Some(t) = self.moving() else {
            return;
        };
        let verdict = if let Err(why) = member {
            Err(why)
        } else if t.answering >= ANSWERING_MAX {
            Err("busy".to_string())
        } else {
            t.mover.may_answer(&req.ask)
        };
        let reply = match (verdict, req.ask) {
            (Err(why), _) => Some(refuse(why)),
            (Ok(()), Ask::Complete { epoch: e, ranges }) => Some(TransferReply {
                epoch,
                answer: Answer::Complete(t.mover.complete(e, &ranges)),
            }),
            (Ok(()), ask) => {
                let Some(actor) = actor else {
                    return;
                };
                t.answering += 1;
                t.counters.answered += 1;
                let tx = t.answers_tx.clone();
                let delay = self.liar.as_ref().and_then(|l| l.delay());
                tokio::spawn(async move {
                    let asked = ask.clone();
                    let answer = match ask {
                        Ask::List { req, .. } => match actor.send(List(req)).await {
                            Ok(Ok(page)) => Answer::Page(page),
                            Ok(Err(e)) => Answer::Refused(format!("storage: {e}")),
                            Err(e) => Answer::Refused(format!("store unavailable: {e}")),
                        },
                        Ask::Get { req, .. } => match actor.send(Serve(req)).await {
                            Ok((r, _)) => Answer::Object(r),
                            Err(e) => Answer::Object(Reply::Refused(Refusal::Storage(format!(
                                "store unavailable: {e}"
                            )))),
                        },
                        Ask::Complete { .. } => Answer::Refused("answered elsewhere".into()),
                    };
                    if let Some(d) = delay {
                        tokio::time::sleep(d).await;
                    }
                    let _ = tx
                        .send((channel, TransferReply { epoch, answer }, asked))
                        .await;
                });
                return;
            }
        };
        if let Some(r) = reply
            && self
                .swarm
                .behaviour_mut()
                .transfer
                .send_response(channel, r)
                .is_err()
        {
            debug!(%peer, "transfer answer not sent: the asker went away");
        }
    }

    /// An answer from the store is ready.
    pub(super) fn transfer_answered(&mut self, (channel, mut reply, ask): Answered) {
        if let Some(t) = self.moving() {
            t.answering = t.answering.saturating_sub(1);
        }
        if let Some(l) = &self.liar {
            reply.answer = l.transfer_answer(&ask, reply.answer);
        }
        if self
            .swarm
            .behaviour_mut()
            .transfer
            .send_response(channel, reply)
            .is_err()
        {
            debug!("transfer answer not sent: the asker went away");
        }
    }
}

fn note(n: Note) {
    match n {
        Note::Started { range, source } => {
            debug!(
                ?range,
                source = source.0,
                "fetching a range from its old group"
            )
        }
        Note::Finished {
            range,
            objects,
            bytes,
        } => info!(?range, objects, bytes, "range transferred"),
        Note::Deleted(range) => {
            info!(?range, "every new owner holds a range: deleting it here")
        }
    }
}
