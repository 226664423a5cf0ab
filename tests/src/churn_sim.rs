//! dBQS under churn (issue 6): the static simulator of [`crate::dbqs_sim`] with the
//! membership changing underneath. An oracle membership service publishes 20 or more epochs
//! (joins of fresh nodes, removals, evictions); members crash and restart (their store and
//! saved transfer state survive, the rest is lost); every node learns each epoch after its own
//! delay, so nodes sit in different epochs at once and some skip epochs. Each node runs the
//! real `overlay::transfer::mover::Mover` and the real replica logic behind the node's checks
//! (epoch, range, `admit`); clients run the real dBQS read and write state machines, and
//! start an operation over against the newest configuration when f+1 replicas refuse it for
//! a passing reason. One node may be Byzantine: it lies to clients as in `dbqs_sim`, and to
//! the replicas fetching from it (stale, hidden, forged, partial, wrong content, silence).
//!
//! Checked: every keyed object's history of operations (across restarts, epochs and
//! transfers) is linearizable (stateright's `LinearizabilityTester`); once the churn stops and
//! the transfers finish, a read of every object returns at least the highest version a write
//! was acknowledged with, and every acknowledged content object is found; every correct live
//! node has no transfer left and, after the sweeps, holds nothing outside what it owns; after
//! every step, a correct node is handed by transfers only versions that verify, only at
//! positions it owns or owned and has not deleted, and never deletes a position it owns.
//! One exception, by design and counted in [`Stats`]: an old replica deletes a range (and
//! retires a fetch kept for past epochs) only once every current owner says it holds it, so
//! a Byzantine owner that never says so keeps such objects and fetches alive for good.
//!
//! Transfers answer only nodes that were members of the epoch after the one asked about
//! (those fetching for it, owners still or not); completeness questions anyone.
//!
//! Fault budget (f = 1): at most one node is faulty for good, either the Byzantine one or one
//! evicted node that crashes and never returns; members crash only for a while, one at a
//! time, and only in runs whose Byzantine node (if any) answers transfers (a silent one plus
//! a crashed member is two faults in a group).

mod clients;
mod end;
mod host;
mod liar;

use std::collections::{BTreeMap, VecDeque};

use overlay::config::{Configuration, Member, choose_ms_group};
use overlay::crypto::SecretKey;
use overlay::dbqs::fixture;
use overlay::dbqs::mem::MemStore;
use overlay::dbqs::object::{Version, VersionKey};
use overlay::dbqs::replica::{self, Reply, Request};
use overlay::id::{Epoch, Hash, NodeId};
use overlay::ms::Evidence;
use overlay::ring::{RangeSet, Ring};
use overlay::transfer::mover::{self, Applied, FetchId, Mover, Saved, Settings};
use overlay::transfer::wire::{Answer, Ask};
use rand::Rng as _;
use rand::seq::SliceRandom;
use stateright::semantics::LinearizabilityTester;
use stateright::semantics::register::Register;

use crate::dbqs_sim::{LIARS, Liar, content_bytes};
use crate::sim::{self, NetConfig, Network, Rng, Scheduler};
use clients::{Catalog, Kind, Machine};
pub use liar::{COMPLETE_LIES, CompleteLie, TRANSFER_LIES, TransferLie};

/// The Byzantine node and how it lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Byzantine {
    /// Its index among the genesis nodes.
    pub node: usize,
    /// What it tells clients (`None`: the truth).
    pub clients: Option<Liar>,
    /// What it tells replicas fetching from it.
    pub transfer: TransferLie,
    /// What it says when asked whether it holds ranges completely.
    pub complete: CompleteLie,
}

/// The shape of one run.
#[derive(Debug, Clone)]
pub struct Params {
    /// Genesis members.
    pub nodes: usize,
    /// Ring positions per member.
    pub vnodes: u32,
    /// Epochs published after genesis.
    pub epochs: u64,
    /// Time between epochs: at least, at most.
    pub epoch_ms: (u64, u64),
    /// The longest a node takes to learn an epoch.
    pub learn_ms_max: u64,
    /// Clients, each running one operation at a time.
    pub clients: usize,
    /// Keyed objects.
    pub objects: usize,
    /// Every client writes with one owner key.
    pub shared_owner: bool,
    /// Content objects (0: none).
    pub contents: usize,
    /// The Byzantine node, if any.
    pub byzantine: Option<Byzantine>,
    /// Members crash and restart.
    pub crashes: bool,
    /// An evicted node may crash for good.
    pub death: bool,
    /// The network.
    pub net: NetConfig,
    /// The movers' pacing.
    pub mover: Settings,
    /// Clients give an operation up after this long (a timed-out write may or may not take
    /// effect) and go on with their next one; `None`: they wait for every answer.
    pub timeout_ms: Option<u64>,
    /// A correct node that answers transfer questions late, after at least one mover tick of
    /// the asker has passed (the best holder answering after the fetch moved on).
    pub slow_holder: Option<usize>,
}

impl Params {
    /// The parameters of run `seed`.
    pub fn draw(seed: u64) -> Params {
        let mut rng = sim::rng(seed ^ 0xc4_0125_eed5);
        let byzantine = rng.gen_bool(0.75).then(|| Byzantine {
            node: 0,
            clients: rng.gen_bool(0.6).then(|| pick(&mut rng, &LIARS)),
            transfer: pick(&mut rng, &TRANSFER_LIES),
            complete: pick(&mut rng, &COMPLETE_LIES),
        });
        let nodes = rng.gen_range(5..=8);
        let withholds = byzantine
            .is_some_and(|b| matches!(b.transfer, TransferLie::Silent | TransferLie::Refuse));
        let epoch_min = rng.gen_range(600..1_500);
        Params {
            nodes,
            vnodes: rng.gen_range(2..=4),
            epochs: rng.gen_range(20..=26),
            epoch_ms: (epoch_min, epoch_min + rng.gen_range(500..2_500)),
            learn_ms_max: rng.gen_range(100..3_000),
            clients: rng.gen_range(2..=4),
            objects: rng.gen_range(2..=6),
            shared_owner: rng.gen_bool(0.3),
            contents: if rng.gen_bool(0.6) { 2 } else { 0 },
            byzantine: byzantine.map(|b| Byzantine {
                node: rng.gen_range(0..nodes),
                ..b
            }),
            crashes: !withholds && rng.gen_bool(0.7),
            death: byzantine.is_none() && rng.gen_bool(0.5),
            net: NetConfig {
                delay_min_ms: 1,
                delay_max_ms: rng.gen_range(5..30),
                tail_prob: 0.03,
                tail_max_ms: 300,
                drop_prob: pick(&mut rng, &[0.0, 0.02, 0.05]),
                dup_prob: pick(&mut rng, &[0.0, 0.02]),
                gst_ms: rng.gen_range(5_000..40_000),
            },
            mover: Settings {
                page: rng.gen_range(1..=6),
                running_max: rng.gen_range(1..=4),
                parked_max: 64,
            },
            timeout_ms: rng.gen_bool(0.5).then(|| rng.gen_range(150..2_500)),
            // Drawn last, so that the draws above stay those of the seeds kept so far.
            slow_holder: None,
        }
        .with_slow_holder(&mut rng)
    }

    fn with_slow_holder(mut self, rng: &mut Rng) -> Params {
        let liar = self.byzantine.map(|b| b.node);
        let n = rng.gen_range(0..self.nodes);
        self.slow_holder = (rng.gen_bool(0.4) && Some(n) != liar).then_some(n);
        self
    }
}

fn pick<T: Copy>(rng: &mut Rng, from: &[T]) -> T {
    from[rng.gen_range(0..from.len())]
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Epochs published after genesis.
    pub epochs: u64,
    /// Fresh nodes that joined.
    pub joins: usize,
    /// Members removed (and left running).
    pub removals: usize,
    /// Members evicted (crashed for a while, or for good).
    pub evictions: usize,
    /// Member crashes (each followed by a restart), evictions' crashes included.
    pub crashes: usize,
    /// Nodes that moved into an epoch without the one before it.
    pub skips: usize,
    /// Client operations checked.
    pub ops: usize,
    /// Times an operation started over (another epoch, busy replicas).
    pub restarts: usize,
    /// Reads that returned a value.
    pub reads_with_value: usize,
    /// Objects stored by transfers.
    pub transferred: u64,
    /// Ranges whose transfer finished.
    pub ranges_moved: usize,
    /// Ranges deleted after every owner held them.
    pub deletes: usize,
    /// Objects still held outside a correct node's ranges at the end because the Byzantine
    /// owner never said it holds them (old replicas keep a range until every owner does).
    pub kept_for_liar: usize,
    /// Fetches kept for past epochs still pending at the end for the same reason: every
    /// correct owner holds the range, but the sweep that would retire them waits for the
    /// Byzantine owner too.
    pub fetches_kept_for_liar: usize,
    /// Operations clients gave up after their timeout.
    pub timeouts: usize,
    /// Transfer answers the slow holder sent after a tick.
    pub slow_answers: usize,
    /// Objects checked at a new replica when its range fetch finished (each against the
    /// highest version acknowledged before the fetch began).
    pub fetch_audits: usize,
    /// Simulated milliseconds.
    pub sim_ms: u64,
}

/// The network index of client `c`: nodes come first.
const CLIENT_BASE: usize = 1 << 20;
/// Members never drop below this (a group of 4 plus one to remove).
const MEMBERS_MIN: usize = 5;
/// Nor rise above this.
const MEMBERS_MAX: usize = 10;
/// A client operation's resend timer.
const CLIENT_TIMER_MS: u64 = 300;
/// The movers' timer.
const TICK_MS: u64 = 1_000;
/// How late the slow holder answers: more than a tick, less than three.
const SLOW_ANSWER_MS: std::ops::Range<u64> = TICK_MS + 150..3 * TICK_MS;
/// The share of its answers the slow holder sends late.
const SLOW_SHARE: f64 = 0.3;
/// Operations given up per run at most: each stays open in its object's history, and the
/// linearizability checker's search grows exponentially with open operations (seed 73 ran
/// for hours with no bound).
const GIVE_UPS_MAX: usize = 6;
/// How often movers sweep.
const SWEEP_MS: u64 = 3_000;
/// Clients keep going this long after the last epoch.
const TAIL_MS: u64 = 2_000;
/// The longest the transfers may take to finish once the churn stopped.
const SETTLE_MS_MAX: u64 = 300_000;
/// The longest the sweeps may take after that.
const SWEEP_WAIT_MS_MAX: u64 = 60_000;

enum Ev {
    Publish,
    Learn {
        node: usize,
        epoch: Epoch,
    },
    Config {
        node: usize,
        inc: u64,
        epoch: Epoch,
    },
    Crash,
    Restart {
        node: usize,
    },
    Tick {
        node: usize,
        inc: u64,
    },
    Sweep {
        node: usize,
        inc: u64,
    },
    Applied {
        node: usize,
        inc: u64,
        after: Applied,
    },
    Ask {
        to: usize,
        from: usize,
        inc: u64,
        epoch: Epoch,
        fetch: FetchId,
        ask: Ask,
    },
    Answer {
        to: usize,
        inc: u64,
        from: NodeId,
        fetch: FetchId,
        ask: Ask,
        answer: Answer,
    },
    Start {
        client: usize,
    },
    ToReplica {
        to: usize,
        client: usize,
        op: u64,
        attempt: u32,
        epoch: Epoch,
        req: Request,
    },
    ToClient {
        client: usize,
        op: u64,
        attempt: u32,
        from: NodeId,
        reply: Reply,
    },
    ClientTimer {
        client: usize,
        op: u64,
        attempt: u32,
    },
    Retry {
        client: usize,
        op: u64,
    },
    Check,
}

/// A client request a mover parked until its object arrives.
struct ParkedReq {
    client: usize,
    op: u64,
    attempt: u32,
    req: Request,
}

struct Node {
    id: NodeId,
    store: MemStore,
    saved: Saved,
    mover: Option<Mover>,
    /// The newest configuration handed to the mover.
    known: Option<Epoch>,
    up: bool,
    /// Gone for good.
    dead: bool,
    /// Bumped at every crash: events of an earlier life are dropped.
    inc: u64,
    parked: BTreeMap<mover::Token, ParkedReq>,
    next_token: mover::Token,
    /// Asking peers for this newer epoch already.
    catching_up: Option<Epoch>,
    byzantine: Option<Byzantine>,
    /// The first version it stored of each object (a stale liar's story).
    first: BTreeMap<Hash, Version>,
    flip: bool,
    /// Proofs that an owner signed two values as one version, as a correct replica found
    /// them (the node reports them and the MS revokes the owner).
    evidence: Vec<Evidence>,
}

impl Node {
    fn new(key: &SecretKey, byzantine: Option<Byzantine>) -> Node {
        Node {
            id: NodeId::of(&key.public()),
            store: MemStore::default(),
            saved: Saved::default(),
            mover: None,
            known: None,
            up: false,
            dead: false,
            inc: 0,
            parked: BTreeMap::new(),
            next_token: 0,
            catching_up: None,
            byzantine,
            first: BTreeMap::new(),
            flip: false,
            evidence: Vec::new(),
        }
    }

    fn correct(&self) -> bool {
        self.byzantine.is_none()
    }

    /// Stores through the replica logic (which keeps only verified, higher versions).
    fn store(&mut self, req: Request) -> Reply {
        if self.byzantine.is_some()
            && let Request::Write { version } = &req
        {
            self.first
                .entry(version.id())
                .or_insert_with(|| (**version).clone());
        }
        let (reply, evidence) = replica::handle_noting(&mut self.store, req);
        if self.byzantine.is_none() {
            self.evidence.extend(evidence);
        }
        reply
    }

    /// What it owns in the epoch it moved into last.
    fn owned(&self) -> RangeSet {
        let s = &self.saved;
        s.epoch
            .and_then(|e| s.log.get(&e))
            .map(|l| l.owned.clone())
            .unwrap_or_default()
    }
}

struct Op {
    seq: u64,
    kind: Kind,
    attempt: u32,
    epoch: Epoch,
    group: Vec<NodeId>,
    machine: Machine,
    invoked_ms: u64,
}

struct Client {
    /// The history's thread for this client's operations: a new one after each operation it
    /// gave up, which stays open in the history (it may or may not have taken effect).
    thread: usize,
    /// A write it gave up, to write again next (`rampart put` run again after a timeout).
    again: Option<usize>,
    epoch: Epoch,
    op: Option<Op>,
    seq: u64,
    /// Final reads still to run (keyed objects, then content objects).
    finals: VecDeque<Kind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Epochs are published; clients run.
    Churn,
    /// No more epochs; clients finish what they run.
    Drain,
    /// Waiting for every transfer to finish.
    Settle,
    /// Final reads.
    Final,
    /// Waiting for the sweeps.
    Sweep,
}

struct World {
    p: Params,
    rng: Rng,
    sched: Scheduler<Ev>,
    net: Network,
    configs: Vec<Configuration>,
    rings: Vec<Ring>,
    nodes: Vec<Node>,
    keys: Vec<SecretKey>,
    index: BTreeMap<NodeId, usize>,
    clients: Vec<Client>,
    catalog: Catalog,
    testers: Vec<LinearizabilityTester<usize, Register<Option<u64>>>>,
    /// The highest version each keyed object's writes were acknowledged with.
    acked: Vec<VersionKey>,
    /// Every acknowledgement of each keyed object's writes: when, and the version.
    acks: Vec<Vec<(u64, VersionKey)>>,
    /// When each node's fetch of a range first began (kept across its crashes).
    fetching: BTreeMap<(usize, overlay::ring::Range), u64>,
    /// The clients' write journal: version numbers signed and not seen complete.
    journal: overlay::dbqs::journal::Journal,
    /// When each content object's first put completed.
    stored: BTreeMap<usize, u64>,
    next_value: u64,
    phase: Phase,
    phase_since: u64,
    stats: Stats,
    /// Print progress to stderr (`CHURN_TRACE=1`).
    trace: bool,
}

/// Runs seed `seed`; an `Err` says what broke.
pub fn run(seed: u64, p: Params) -> Result<Stats, String> {
    let mut w = World::new(seed, p);
    w.main_loop()
        .map_err(|e| format!("at {} ms: {e}", w.sched.now()))?;
    w.stats.sim_ms = w.sched.now();
    Ok(w.stats)
}

impl World {
    fn new(seed: u64, p: Params) -> World {
        let mut rng = sim::rng(seed);
        let owners: Vec<SecretKey> = (0..if p.shared_owner { 1 } else { p.clients })
            .map(|_| SecretKey::generate(&mut rng))
            .collect();
        let contents = (0..p.contents).map(|k| content_bytes(seed, k)).collect();
        let catalog = Catalog::new(owners, p.objects, contents);
        let keys: Vec<SecretKey> = (0..p.nodes)
            .map(|_| SecretKey::generate(&mut rng))
            .collect();
        let mut w = World {
            net: Network::new(p.net.clone()),
            rng,
            sched: Scheduler::default(),
            configs: Vec::new(),
            rings: Vec::new(),
            nodes: Vec::new(),
            keys: Vec::new(),
            index: BTreeMap::new(),
            clients: (0..p.clients)
                .enumerate()
                .map(|(c, _)| Client {
                    thread: c,
                    again: None,
                    epoch: Epoch(0),
                    op: None,
                    seq: 0,
                    finals: VecDeque::new(),
                })
                .collect(),
            testers: (0..p.objects)
                .map(|_| LinearizabilityTester::new(Register(None)))
                .collect(),
            acked: vec![VersionKey::NONE; p.objects],
            acks: vec![Vec::new(); p.objects],
            fetching: BTreeMap::new(),
            journal: Default::default(),
            stored: BTreeMap::new(),
            catalog,
            next_value: 1,
            phase: Phase::Churn,
            phase_since: 0,
            stats: Stats::default(),
            trace: std::env::var_os("CHURN_TRACE").is_some(),
            p,
        };
        for (i, k) in keys.into_iter().enumerate() {
            let byz = w.p.byzantine.filter(|b| b.node == i);
            w.add_node(k, byz);
        }
        let all: Vec<usize> = (0..w.nodes.len()).collect();
        w.push_config(&all);
        w
    }

    fn add_node(&mut self, key: SecretKey, byzantine: Option<Byzantine>) -> usize {
        let n = self.nodes.len();
        let node = Node::new(&key, byzantine);
        self.index.insert(node.id, n);
        self.nodes.push(node);
        self.keys.push(key);
        n
    }

    fn push_config(&mut self, members: &[usize]) {
        let mut ms: Vec<Member> = members
            .iter()
            .map(|n| Member {
                key: self.keys[*n].public(),
                addrs: vec!["/ip4/10.0.0.1/tcp/7700".into()],
            })
            .collect();
        ms.sort_by_key(Member::id);
        let ids: Vec<NodeId> = ms.iter().map(Member::id).collect();
        let epoch = Epoch(self.configs.len() as u64);
        let cfg = Configuration {
            epoch,
            ms_group: choose_ms_group(&ids, 1, &Hash::of(&[&epoch.0.to_be_bytes()])),
            members: ms,
            f: 1,
            f_ms: 1,
            vnodes: self.p.vnodes,
            revoked: BTreeMap::new(),
        };
        self.rings.push(Ring::of(&cfg));
        self.configs.push(cfg);
    }

    fn latest(&self) -> Epoch {
        Epoch(self.configs.len() as u64 - 1)
    }

    fn members(&self, e: Epoch) -> Vec<usize> {
        self.configs[e.0 as usize]
            .members
            .iter()
            .filter_map(|m| self.index.get(&m.id()).copied())
            .collect()
    }

    fn main_loop(&mut self) -> Result<(), String> {
        for n in 0..self.nodes.len() {
            self.boot(n)?;
        }
        for c in 0..self.p.clients {
            let at = self.rng.gen_range(0..100);
            self.sched.at(at, Ev::Start { client: c });
        }
        let first = self.rng.gen_range(self.p.epoch_ms.0..=self.p.epoch_ms.1);
        self.sched.at(first, Ev::Publish);
        if self.p.crashes {
            let at = self.rng.gen_range(500..3_000);
            self.sched.at(at, Ev::Crash);
        }
        self.sched.at(500, Ev::Check);
        let mut steps = 0u64;
        while let Some(ev) = self.sched.pop() {
            steps += 1;
            if self.trace && steps.is_multiple_of(20_000) {
                eprintln!(
                    "{} ms: {steps} steps, {} queued, phase {:?}, epoch {:?}",
                    self.sched.now(),
                    self.sched.len(),
                    self.phase,
                    self.latest()
                );
            }
            if self.step(ev)? {
                return Ok(());
            }
            self.no_evidence_against_honest_clients()?;
        }
        Err("the event queue ran dry".into())
    }

    /// Handles one event; `true` once the run is over.
    fn step(&mut self, ev: Ev) -> Result<bool, String> {
        match ev {
            Ev::Publish => self.publish()?,
            Ev::Learn { node, epoch } => self.learn(node, epoch)?,
            Ev::Config { node, inc, epoch } => {
                if self.alive(node, inc) {
                    let cfg = self.configs[epoch.0 as usize].clone();
                    let outs = self.mover(node).map(|m| m.on_config(&cfg));
                    self.perform(node, outs.unwrap_or_default())?;
                }
            }
            Ev::Crash => self.crash_someone(),
            Ev::Restart { node } => self.restart(node)?,
            Ev::Tick { node, inc } => {
                if self.alive(node, inc) {
                    let outs = self.mover(node).map(Mover::on_timer);
                    self.perform(node, outs.unwrap_or_default())?;
                    let at = self.rng.gen_range(TICK_MS - 100..=TICK_MS + 100);
                    self.sched.at(at, Ev::Tick { node, inc });
                }
            }
            Ev::Sweep { node, inc } => {
                if self.alive(node, inc) {
                    let outs = self.mover(node).map(Mover::sweep);
                    self.perform(node, outs.unwrap_or_default())?;
                    let at = self.rng.gen_range(SWEEP_MS - 300..=SWEEP_MS + 300);
                    self.sched.at(at, Ev::Sweep { node, inc });
                }
            }
            Ev::Applied { node, inc, after } => {
                if self.alive(node, inc) {
                    let outs = self.mover(node).map(|m| m.on_applied(after));
                    self.perform(node, outs.unwrap_or_default())?;
                }
            }
            Ev::Ask {
                to,
                from,
                inc,
                epoch,
                fetch,
                ask,
            } => self.on_ask(to, from, inc, epoch, fetch, ask),
            Ev::Answer {
                to,
                inc,
                from,
                fetch,
                ask,
                answer,
            } => self.on_answer(to, inc, from, fetch, ask, answer)?,
            Ev::Start { client } => self.start_op(client)?,
            Ev::ToReplica {
                to,
                client,
                op,
                attempt,
                epoch,
                req,
            } => self.on_request(to, client, op, attempt, epoch, req)?,
            Ev::ToClient {
                client,
                op,
                attempt,
                from,
                reply,
            } => self.on_reply(client, op, attempt, from, reply)?,
            Ev::ClientTimer {
                client,
                op,
                attempt,
            } => self.on_client_timer(client, op, attempt)?,
            Ev::Retry { client, op } => self.retry(client, op)?,
            Ev::Check => return self.check(),
        }
        Ok(false)
    }

    /// Honest clients never sign two values as one version (with one writer per owner key);
    /// a correct replica that finds such a proof would have the owner revoked.
    fn no_evidence_against_honest_clients(&self) -> Result<(), String> {
        if self.p.shared_owner {
            return Ok(());
        }
        for (n, node) in self.nodes.iter().enumerate() {
            if let Some(e) = node.evidence.first() {
                return Err(format!(
                    "node {n} holds a proof that an honest client equivocated: {e:?}"
                ));
            }
        }
        Ok(())
    }

    fn alive(&self, n: usize, inc: u64) -> bool {
        self.nodes[n].up && self.nodes[n].inc == inc
    }

    fn mover(&mut self, n: usize) -> Option<&mut Mover> {
        self.nodes[n].mover.as_mut()
    }

    // ---- membership ----

    /// Starts node `n` (at genesis, on joining, on restarting) and hands it the newest
    /// configuration.
    fn boot(&mut self, n: usize) -> Result<(), String> {
        let node = &mut self.nodes[n];
        node.up = true;
        node.known = None;
        node.mover = Some(Mover::new(
            node.id,
            fixture::authority_key(),
            self.p.mover,
            node.saved.clone(),
        ));
        let inc = node.inc;
        let tick = self.rng.gen_range(0..TICK_MS);
        self.sched.at(tick, Ev::Tick { node: n, inc });
        let sweep = self.rng.gen_range(0..SWEEP_MS);
        self.sched.at(sweep, Ev::Sweep { node: n, inc });
        let latest = self.latest();
        self.learn(n, latest)
    }

    fn publish(&mut self) -> Result<(), String> {
        let now = self.latest();
        let mut members = self.members(now);
        if self.trace {
            eprintln!("{} ms: publishing epoch {}", self.sched.now(), now.0 + 1);
        }
        let (mut joined, mut left) = (None, None);
        let can_join = members.len() < MEMBERS_MAX;
        let can_leave = members.len() > MEMBERS_MIN;
        let (join, leave) = match self.rng.gen_range(0..100) {
            0..45 => (can_join, !can_join),
            45..90 => (!can_leave, can_leave),
            90..97 => (can_join, can_leave),
            // The membership stays; the epoch changes all the same.
            _ => (false, false),
        };
        if join {
            let key = SecretKey::generate(&mut self.rng);
            let n = self.add_node(key, None);
            members.push(n);
            joined = Some(n);
            self.stats.joins += 1;
        }
        if leave {
            let i = self.rng.gen_range(0..members.len() - usize::from(join));
            left = Some(members.remove(i));
        }
        self.push_config(&members);
        let e = self.latest();
        self.stats.epochs = e.0;
        if let Some(n) = left {
            self.leave(n)?;
        }
        if let Some(n) = joined {
            self.boot(n)?;
        }
        for n in 0..self.nodes.len() {
            if !self.nodes[n].dead && Some(n) != joined {
                let at = self.rng.gen_range(0..=self.p.learn_ms_max);
                self.sched.at(at, Ev::Learn { node: n, epoch: e });
            }
        }
        if e.0 < self.p.epochs {
            let at = self.rng.gen_range(self.p.epoch_ms.0..=self.p.epoch_ms.1);
            self.sched.at(at, Ev::Publish);
        } else {
            self.enter(Phase::Drain);
        }
        Ok(())
    }

    /// Member `n` left the configuration: removed (it keeps running), or evicted (it crashes,
    /// for good if the fault budget allows).
    fn leave(&mut self, n: usize) -> Result<(), String> {
        let correct = self.nodes[n].correct() && self.nodes[n].up;
        if !correct || !self.rng.gen_bool(0.5) {
            self.stats.removals += 1;
            return Ok(());
        }
        self.stats.evictions += 1;
        let forever = self.p.death && !self.nodes.iter().any(|x| x.dead);
        if forever {
            self.crash(n);
            self.nodes[n].dead = true;
        } else if self.p.crashes && self.nobody_down() {
            self.crash(n);
            let at = self.rng.gen_range(300..5_000);
            self.sched.at(at, Ev::Restart { node: n });
        }
        Ok(())
    }

    fn nobody_down(&self) -> bool {
        self.nodes.iter().all(|x| x.up || x.dead)
    }

    fn crash_someone(&mut self) {
        if self.phase != Phase::Churn {
            return;
        }
        let members = self.members(self.latest());
        let candidates: Vec<usize> = members
            .into_iter()
            .filter(|n| self.nodes[*n].correct() && self.nodes[*n].up)
            .collect();
        if self.nobody_down()
            && let Some(n) = candidates.choose(&mut self.rng).copied()
        {
            self.crash(n);
            let at = self.rng.gen_range(300..6_000);
            self.sched.at(at, Ev::Restart { node: n });
        }
        let at = self.rng.gen_range(1_000..6_000);
        self.sched.at(at, Ev::Crash);
    }

    /// Node `n` stops: what it keeps in memory is gone, its store and saved state stay.
    fn crash(&mut self, n: usize) {
        let node = &mut self.nodes[n];
        node.up = false;
        node.inc += 1;
        node.mover = None;
        node.known = None;
        node.parked.clear();
        node.catching_up = None;
        self.stats.crashes += 1;
    }

    fn restart(&mut self, n: usize) -> Result<(), String> {
        if self.nodes[n].up || self.nodes[n].dead {
            return Ok(());
        }
        self.boot(n)
    }

    /// Node `n` learns epoch `e` (and moves into it if it is newer than what it knows).
    fn learn(&mut self, n: usize, e: Epoch) -> Result<(), String> {
        let node = &self.nodes[n];
        if !node.up || node.known.is_some_and(|k| k >= e) {
            return Ok(());
        }
        let contiguous = e.0 > 0 && node.known == Some(Epoch(e.0 - 1));
        let prev = (contiguous || e.0 > 0 && self.rng.gen_bool(0.5))
            .then(|| self.configs[e.0 as usize - 1].clone());
        if node.saved.epoch.is_some_and(|s| s.0 + 1 < e.0) {
            self.stats.skips += 1;
        }
        let node = &mut self.nodes[n];
        node.known = Some(e);
        if node.catching_up.is_some_and(|c| c <= e) {
            node.catching_up = None;
        }
        let cfg = &self.configs[e.0 as usize];
        let outs = node
            .mover
            .as_mut()
            .map(|m| m.on_epoch(cfg, prev.as_ref()))
            .unwrap_or_default();
        self.perform(n, outs)
    }

    /// Node `n` heard of epoch `e` from a client or a peer: it fetches it from its peers.
    fn catch_up(&mut self, n: usize, e: Epoch) {
        let node = &mut self.nodes[n];
        if node.catching_up.is_some_and(|c| c >= e) || node.known.is_some_and(|k| k >= e) {
            return;
        }
        node.catching_up = Some(e);
        let at = self.rng.gen_range(20..300);
        self.sched.at(at, Ev::Learn { node: n, epoch: e });
    }

    // ---- phases and the end ----

    fn enter(&mut self, phase: Phase) {
        if self.trace {
            eprintln!("{} ms: {phase:?}", self.sched.now());
        }
        self.phase = phase;
        self.phase_since = self.sched.now();
    }
}
