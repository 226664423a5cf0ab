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
//! every step, a correct node stores only versions that verify and only objects of its
//! ranges, and never deletes a position it owns.
//!
//! Fault budget (f = 1): at most one node is faulty for good, either the Byzantine one or one
//! evicted node that crashes and never returns; members crash only for a while, one at a
//! time, and only in runs whose Byzantine node (if any) answers transfers (a silent one plus
//! a crashed member is two faults in a group).

mod clients;
mod liar;

use std::collections::{BTreeMap, VecDeque};

use overlay::config::{Configuration, Member, choose_ms_group};
use overlay::crypto::SecretKey;
use overlay::dbqs::client::{Action, Group, Outcome};
use overlay::dbqs::mem::MemStore;
use overlay::dbqs::object::{Version, VersionKey, content_id};
use overlay::dbqs::replica::{self, Refusal, Reply, Request};
use overlay::id::{Epoch, Hash, NodeId};
use overlay::ring::{Range, RangeSet, Ring};
use overlay::transfer::mover::{self, Admit, Applied, FetchId, Item, Mover, Note, Saved, Settings};
use overlay::transfer::page::page_of;
use overlay::transfer::wire::{Answer, Ask};
use rand::Rng as _;
use rand::seq::SliceRandom;
use stateright::semantics::register::{Register, RegisterOp, RegisterRet};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester};

use crate::dbqs_sim::{LIARS, Liar, content_bytes, lie, register_value};
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
        }
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
/// How often movers sweep.
const SWEEP_MS: u64 = 3_000;
/// Clients keep going this long after the last epoch.
const TAIL_MS: u64 = 2_000;
/// The longest the transfers may take to finish once the churn stopped.
const SETTLE_MS_MAX: u64 = 180_000;
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
        replica::handle(&mut self.store, req)
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
                .map(|_| Client {
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
            if self.trace && steps % 20_000 == 0 {
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
        node.mover = Some(Mover::new(node.id, self.p.mover, node.saved.clone()));
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

    // ---- a node's mover ----

    /// Does what node `n`'s mover asks.
    fn perform(&mut self, n: usize, outs: Vec<mover::Out>) -> Result<(), String> {
        for o in outs {
            match o {
                mover::Out::Send { to, fetch, ask } => self.send_ask(n, to, fetch, ask),
                mover::Out::Apply { items, after } => {
                    self.apply(n, items)?;
                    let inc = self.nodes[n].inc;
                    let at = self.rng.gen_range(0..5);
                    self.sched.at(
                        at,
                        Ev::Applied {
                            node: n,
                            inc,
                            after,
                        },
                    );
                }
                mover::Out::Save(s) => self.nodes[n].saved = *s,
                mover::Out::Release(tokens) => {
                    for t in tokens {
                        if let Some(pr) = self.nodes[n].parked.remove(&t) {
                            let reply = self.nodes[n].store(pr.req);
                            self.reply(n, pr.client, pr.op, pr.attempt, reply, 0);
                        }
                    }
                }
                mover::Out::Refuse(tokens) => {
                    for t in tokens {
                        if let Some(pr) = self.nodes[n].parked.remove(&t) {
                            let reply = Reply::Refused(Refusal::Busy);
                            self.reply(n, pr.client, pr.op, pr.attempt, reply, 0);
                        }
                    }
                }
                mover::Out::NeedConfig(epoch) => {
                    let inc = self.nodes[n].inc;
                    let at = self.rng.gen_range(10..400);
                    self.sched.at(
                        at,
                        Ev::Config {
                            node: n,
                            inc,
                            epoch,
                        },
                    );
                }
                mover::Out::Delete(range) => self.delete(n, range)?,
                mover::Out::Note(Note::Finished { .. }) => self.stats.ranges_moved += 1,
                mover::Out::Note(_) => {}
            }
        }
        Ok(())
    }

    /// Stores a transferred batch, checking that a correct node is handed only versions
    /// that verify, of objects at positions it owns or owned and has not deleted.
    fn apply(&mut self, n: usize, items: Vec<Item>) -> Result<(), String> {
        let node = &mut self.nodes[n];
        let dirty = node
            .mover
            .as_ref()
            .map(|m| m.saved().dirty.clone())
            .unwrap_or_default();
        for item in items {
            let (id, req) = match item {
                Item::Version(v) => {
                    if node.correct() && v.verify().is_err() {
                        return Err(format!(
                            "node {n} was handed a version that does not verify"
                        ));
                    }
                    (v.id(), Request::Write { version: v })
                }
                Item::Content(bytes) => (content_id(&bytes), Request::PutContent { bytes }),
            };
            if node.correct() && !dirty.contains(&id) {
                return Err(format!(
                    "node {n} stores transferred object {id:?} where it may hold nothing"
                ));
            }
            if let Reply::Refused(r) = node.store(req) {
                return Err(format!("node {n} refused a transferred object: {r}"));
            }
            self.stats.transferred += 1;
        }
        Ok(())
    }

    fn delete(&mut self, n: usize, range: Range) -> Result<(), String> {
        let node = &mut self.nodes[n];
        if node.correct() && RangeSet::of(&range).meets(&node.owned()) {
            return Err(format!("node {n} deletes {range:?}, part of which it owns"));
        }
        node.store.versions.retain(|id, _| !range.contains(id));
        node.store.content.retain(|id, _| !range.contains(id));
        self.stats.deletes += 1;
        Ok(())
    }

    fn send_ask(&mut self, n: usize, to: NodeId, fetch: FetchId, ask: Ask) {
        let Some(&t) = self.index.get(&to) else {
            return;
        };
        let (inc, epoch) = (self.nodes[n].inc, self.nodes[n].known.unwrap_or_default());
        let now = self.sched.now();
        for d in self.net.deliveries(&mut self.rng, now, n, t) {
            self.sched.at(
                d,
                Ev::Ask {
                    to: t,
                    from: n,
                    inc,
                    epoch,
                    fetch,
                    ask: ask.clone(),
                },
            );
        }
    }

    /// Node `to` answers node `from`'s transfer question.
    fn on_ask(&mut self, to: usize, from: usize, inc: u64, epoch: Epoch, fetch: FetchId, ask: Ask) {
        if !self.nodes[to].up {
            return;
        }
        if self.nodes[to].known.is_none_or(|k| k < epoch) {
            self.catch_up(to, epoch);
        }
        let asker = self.nodes[from].id;
        let node = &mut self.nodes[to];
        let Some((mover, known)) = node.mover.as_ref().zip(node.known) else {
            return;
        };
        // Transfers serve only the members of the epoch after the source (those that
        // fetch for it, still or no longer owners); the completeness question anyone.
        let member = |source: &Epoch| {
            let next = source.0 + 1;
            next <= known.0 && self.configs[next as usize].member(&asker).is_some()
        };
        let honest = match &ask {
            Ask::List { source, .. } | Ask::Get { source, .. } if !member(source) => {
                Answer::Refused("not a member of the epoch after the source".into())
            }
            _ => match mover.may_answer(&ask) {
                Err(e) => Answer::Refused(e),
                Ok(()) => match &ask {
                    Ask::List { req, .. } => Answer::Page(page_of(req, liar::listed(&node.store))),
                    Ask::Get { req, .. } => {
                        Answer::Object(replica::handle(&mut node.store, req.clone()))
                    }
                    Ask::Complete { epoch, ranges } => {
                        Answer::Complete(mover.complete(*epoch, ranges))
                    }
                },
            },
        };
        let answer = match node.byzantine {
            Some(b) => {
                let lie = (b.transfer, b.complete);
                liar::answer(lie, &node.store, &node.first, &ask, honest, &mut self.rng)
            }
            None => Some(honest),
        };
        let Some(answer) = answer else {
            return;
        };
        let me = node.id;
        let now = self.sched.now();
        for d in self.net.deliveries(&mut self.rng, now, to, from) {
            self.sched.at(
                d,
                Ev::Answer {
                    to: from,
                    inc,
                    from: me,
                    fetch,
                    ask: ask.clone(),
                    answer: answer.clone(),
                },
            );
        }
    }

    /// An answer reaches the node that asked (in the life it asked in).
    fn on_answer(
        &mut self,
        to: usize,
        inc: u64,
        from: NodeId,
        fetch: FetchId,
        ask: Ask,
        answer: Answer,
    ) -> Result<(), String> {
        if !self.alive(to, inc) {
            return Ok(());
        }
        if std::env::var_os("CHURN_DEBUG_NODE").is_some_and(|v| v == to.to_string().as_str())
            && self.sched.now() > 100_000
        {
            eprintln!(
                "{} node {to} fetch {fetch} from {:?}: {ask:?} -> {answer:?}",
                self.sched.now(),
                self.index.get(&from)
            );
        }
        let Some(m) = self.mover(to) else {
            return Ok(());
        };
        let outs = match (ask, answer) {
            (Ask::List { .. }, Answer::Page(page)) => m.on_page(fetch, &from, page),
            (Ask::Get { req, .. }, Answer::Object(reply)) => match req {
                Request::Read { id } | Request::GetContent { id } => {
                    m.on_object(fetch, &from, id, reply)
                }
                _ => Vec::new(),
            },
            (Ask::Complete { epoch, ranges }, Answer::Complete(said)) => {
                m.on_complete(&from, epoch, &ranges, &said)
            }
            _ => Vec::new(),
        };
        self.perform(to, outs)
    }

    // ---- a node serving clients ----

    /// Node `to` gets a client request: the node's checks (epoch, range), then the mover's
    /// `admit`, then the replica logic.
    fn on_request(
        &mut self,
        to: usize,
        client: usize,
        op: u64,
        attempt: u32,
        epoch: Epoch,
        req: Request,
    ) -> Result<(), String> {
        let node = &mut self.nodes[to];
        if !node.up {
            return Ok(());
        }
        let mut slow = 0;
        if let Some(l) = node.byzantine.and_then(|b| b.clients) {
            let current = node.known.unwrap_or_default();
            if let Some(told) = lie(
                l,
                &node.store,
                &mut node.first,
                &mut node.flip,
                current,
                &req,
            ) {
                if let Some(reply) = told {
                    self.reply(to, client, op, attempt, reply, 0);
                }
                return Ok(());
            }
            if l == Liar::Slow {
                slow = self.rng.gen_range(100..600);
            }
        }
        let id = match &req {
            Request::Read { id } | Request::GetContent { id } => *id,
            Request::Write { version } => version.id(),
            Request::PutContent { bytes } => content_id(bytes),
        };
        let known = node.known;
        let refusal = match known {
            None => Some(Refusal::ReplicaBehind {
                client: epoch,
                current: Epoch(0),
            }),
            Some(k) if epoch < k => Some(Refusal::StaleEpoch {
                client: epoch,
                current: k,
            }),
            Some(k) if epoch > k => Some(Refusal::ReplicaBehind {
                client: epoch,
                current: k,
            }),
            Some(k)
                if !self.rings[k.0 as usize]
                    .replica_group(&id)
                    .contains(&node.id) =>
            {
                Some(Refusal::NotHeld(id))
            }
            Some(_) => None,
        };
        if let Some(r) = refusal {
            if matches!(r, Refusal::ReplicaBehind { .. }) {
                self.catch_up(to, epoch);
            }
            self.reply(to, client, op, attempt, Reply::Refused(r), slow);
            return Ok(());
        }
        let token = node.next_token;
        node.next_token += 1;
        let Some(m) = node.mover.as_mut() else {
            return Ok(());
        };
        let (admit, outs) = m.admit(&id, token);
        match admit {
            Admit::Serve => {
                let reply = node.store(req);
                self.reply(to, client, op, attempt, reply, slow);
            }
            Admit::Parked => {
                let pr = ParkedReq {
                    client,
                    op,
                    attempt,
                    req,
                };
                node.parked.insert(token, pr);
            }
            Admit::Busy => {
                let reply = Reply::Refused(Refusal::Busy);
                self.reply(to, client, op, attempt, reply, slow);
            }
        }
        self.perform(to, outs)
    }

    fn reply(&mut self, n: usize, client: usize, op: u64, attempt: u32, reply: Reply, slow: u64) {
        let from = self.nodes[n].id;
        let now = self.sched.now();
        for d in self
            .net
            .deliveries(&mut self.rng, now, n, CLIENT_BASE + client)
        {
            self.sched.at(
                d + slow,
                Ev::ToClient {
                    client,
                    op,
                    attempt,
                    from,
                    reply: reply.clone(),
                },
            );
        }
    }

    // ---- clients ----

    /// Client `c` starts its next operation, if it has one.
    fn start_op(&mut self, c: usize) -> Result<(), String> {
        if self.clients[c].op.is_some() {
            return Ok(());
        }
        let kind = match self.phase {
            Phase::Churn => self.draw_op(c),
            Phase::Final => match self.clients[c].finals.pop_front() {
                Some(k) => k,
                None => return Ok(()),
            },
            _ => return Ok(()),
        };
        if let Kind::Write { object, value } = kind {
            self.invoke(c, object, RegisterOp::Write(value))?;
        }
        if let Kind::Read { object } = kind {
            self.invoke(c, object, RegisterOp::Read)?;
        }
        let client = &mut self.clients[c];
        client.seq += 1;
        let seq = client.seq;
        self.launch(c, seq, kind, None)
    }

    fn invoke(&mut self, c: usize, o: usize, op: RegisterOp<Option<u64>>) -> Result<(), String> {
        self.testers[o]
            .on_invoke(c, op)
            .map(|_| ())
            .map_err(|e| format!("tester: {e}"))
    }

    fn draw_op(&mut self, c: usize) -> Kind {
        let rng = &mut self.rng;
        if self.p.contents > 0 && rng.gen_bool(0.2) {
            let content = rng.gen_range(0..self.p.contents);
            return if rng.gen_bool(0.5) {
                Kind::Put { content }
            } else {
                Kind::Get { content }
            };
        }
        let object = rng.gen_range(0..self.catalog.objects());
        let may_write = self.p.shared_owner || self.catalog.owner(object) == c;
        if may_write && rng.gen_bool(0.5) {
            let value = self.next_value;
            self.next_value += 1;
            Kind::Write {
                object,
                value: (!rng.gen_bool(0.1)).then_some(value),
            }
        } else {
            Kind::Read { object }
        }
    }

    /// Starts (or starts over, as attempt `attempt`, from `old`) client `c`'s operation
    /// `seq` against the group of the client's epoch.
    fn launch(
        &mut self,
        c: usize,
        seq: u64,
        kind: Kind,
        old: Option<(Machine, u32, u64)>,
    ) -> Result<(), String> {
        let epoch = self.clients[c].epoch;
        let group = self.rings[epoch.0 as usize].replica_group(&self.catalog.id(&kind));
        let g = Group::of(group.len());
        let first = self.rng.gen_range(0..g.n);
        let (attempt, invoked_ms) = old
            .as_ref()
            .map_or((0, self.sched.now()), |o| (o.1 + 1, o.2));
        let (machine, acts) = match old {
            Some((m, _, _)) => self.catalog.restart(&kind, m, g, first),
            None => self.catalog.start(&kind, g, first),
        };
        self.clients[c].op = Some(Op {
            seq,
            kind,
            attempt,
            epoch,
            group,
            machine,
            invoked_ms,
        });
        let timer = Ev::ClientTimer {
            client: c,
            op: seq,
            attempt,
        };
        self.sched.at(CLIENT_TIMER_MS, timer);
        self.client_acts(c, acts)
    }

    fn client_acts(&mut self, c: usize, acts: Vec<Action>) -> Result<(), String> {
        let Some(op) = self.clients[c].op.as_ref() else {
            return Ok(());
        };
        let (seq, attempt, epoch) = (op.seq, op.attempt, op.epoch);
        let mut done = None;
        for a in acts {
            match a {
                Action::Send { to, req } => {
                    let Some(&n) = op.group.get(to).and_then(|id| self.index.get(id)) else {
                        continue;
                    };
                    let now = self.sched.now();
                    for d in self.net.deliveries(&mut self.rng, now, CLIENT_BASE + c, n) {
                        self.sched.at(
                            d,
                            Ev::ToReplica {
                                to: n,
                                client: c,
                                op: seq,
                                attempt,
                                epoch,
                                req: req.clone(),
                            },
                        );
                    }
                }
                Action::Done(o) => done = Some(o),
            }
        }
        match done {
            Some(o) => self.finish(c, o),
            None => Ok(()),
        }
    }

    fn current(&mut self, c: usize, seq: u64, attempt: u32) -> Option<&mut Op> {
        self.clients[c]
            .op
            .as_mut()
            .filter(|o| o.seq == seq && o.attempt == attempt)
    }

    fn on_reply(
        &mut self,
        c: usize,
        seq: u64,
        attempt: u32,
        from: NodeId,
        reply: Reply,
    ) -> Result<(), String> {
        let Some(op) = self.current(c, seq, attempt) else {
            return Ok(());
        };
        let Some(i) = op.group.iter().position(|n| *n == from) else {
            return Ok(());
        };
        let dbg = format!("{reply:?}");
        let acts = op.machine.on_reply(i, reply);
        if std::env::var_os("CHURN_DEBUG").is_some() {
            eprintln!(
                "{} c{c} op{seq}/{attempt} from {i}: {dbg} -> {acts:?}",
                self.sched.now()
            );
        }
        self.client_acts(c, acts)
    }

    fn on_client_timer(&mut self, c: usize, seq: u64, attempt: u32) -> Result<(), String> {
        let Some(op) = self.current(c, seq, attempt) else {
            return Ok(());
        };
        let acts = op.machine.on_timer();
        self.sched.at(
            CLIENT_TIMER_MS,
            Ev::ClientTimer {
                client: c,
                op: seq,
                attempt,
            },
        );
        self.client_acts(c, acts)
    }

    fn retry(&mut self, c: usize, seq: u64) -> Result<(), String> {
        if self.clients[c].op.as_ref().is_none_or(|o| o.seq != seq) {
            return Ok(());
        }
        let Some(op) = self.clients[c].op.take() else {
            return Ok(());
        };
        self.stats.restarts += 1;
        self.launch(
            c,
            seq,
            op.kind,
            Some((op.machine, op.attempt, op.invoked_ms)),
        )
    }

    /// Client `c`'s operation ended with `outcome`.
    fn finish(&mut self, c: usize, outcome: Outcome) -> Result<(), String> {
        if let Outcome::Refused(r) = &outcome
            && r.is_transient()
        {
            // Replicas are in another epoch or busy: learn the newest configuration and
            // start over a little later, as the node's client does.
            if r.is_epoch() {
                self.clients[c].epoch = self.latest();
            }
            if self.trace {
                eprintln!("{} ms: client {c} restarts: {r}", self.sched.now());
            }
            let seq = self.clients[c].op.as_ref().map_or(0, |o| o.seq);
            let at = self.rng.gen_range(20..200);
            self.sched.at(at, Ev::Retry { client: c, op: seq });
            return Ok(());
        }
        let Some(op) = self.clients[c].op.take() else {
            return Ok(());
        };
        self.stats.ops += 1;
        if self.trace {
            let o = match &outcome {
                Outcome::Written(k) => format!("written {}/{:?}", k.number, k.digest),
                Outcome::Read(v) => format!(
                    "read {:?}",
                    v.as_ref()
                        .map(|v| (v.key().number, register_value(Some(v))))
                ),
                other => format!("{other:?}"),
            };
            eprintln!(
                "{} ms: client {c} {:?} (from {} ms, {} attempts, last in {:?}) -> {o}",
                self.sched.now(),
                op.kind,
                op.invoked_ms,
                op.attempt + 1,
                op.epoch
            );
        }
        self.check_outcome(c, &op, outcome)?;
        let at = match self.phase {
            Phase::Final => 0,
            _ => self.rng.gen_range(50..400),
        };
        self.sched.at(at, Ev::Start { client: c });
        Ok(())
    }

    fn check_outcome(&mut self, c: usize, op: &Op, outcome: Outcome) -> Result<(), String> {
        match (op.kind, outcome) {
            (Kind::Write { object, .. }, Outcome::Written(key)) => {
                self.acked[object] = self.acked[object].max(key);
                self.returned(c, object, RegisterRet::WriteOk)
            }
            (Kind::Read { object }, Outcome::Read(v)) => {
                let key = v.as_ref().map_or(VersionKey::NONE, |v| v.key());
                if self.phase == Phase::Final && key < self.acked[object] {
                    return Err(format!(
                        "object {object}: the final read returned {key:?}, below the acknowledged {:?}",
                        self.acked[object]
                    ));
                }
                let value = register_value(v.as_deref())?;
                self.stats.reads_with_value += usize::from(value.is_some());
                self.returned(c, object, RegisterRet::ReadOk(value))
            }
            (Kind::Put { content }, Outcome::ContentStored(id)) => {
                if id != content_id(&self.catalog.contents[content]) {
                    return Err(format!(
                        "content put {content} acknowledged under another id"
                    ));
                }
                let now = self.sched.now();
                self.stored.entry(content).or_insert(now);
                Ok(())
            }
            (Kind::Get { content }, Outcome::Content(got)) => match got {
                Some(bytes) if bytes != self.catalog.contents[content] => {
                    Err(format!("content get {content} returned other bytes"))
                }
                None if self
                    .stored
                    .get(&content)
                    .is_some_and(|t| *t < op.invoked_ms) =>
                {
                    Err(format!(
                        "content get {content} found nothing though a put of it completed before"
                    ))
                }
                _ => Ok(()),
            },
            (kind, other) => Err(format!("client {c}: {kind:?} ended with {other:?}")),
        }
    }

    fn returned(
        &mut self,
        c: usize,
        o: usize,
        ret: RegisterRet<Option<u64>>,
    ) -> Result<(), String> {
        let t = &mut self.testers[o];
        t.on_return(c, ret).map_err(|e| format!("tester: {e}"))?;
        if !t.is_consistent() {
            return Err(format!(
                "object {o}: the history is not linearizable: {t:?}"
            ));
        }
        Ok(())
    }

    // ---- phases and the end ----

    fn enter(&mut self, phase: Phase) {
        if self.trace {
            eprintln!("{} ms: {phase:?}", self.sched.now());
        }
        self.phase = phase;
        self.phase_since = self.sched.now();
    }

    /// The periodic look at the whole world: moves through the phases, and ends the run.
    fn check(&mut self) -> Result<bool, String> {
        self.sched.at(500, Ev::Check);
        let now = self.sched.now();
        let waited = now - self.phase_since;
        let busy = self.clients.iter().any(|c| c.op.is_some());
        match self.phase {
            Phase::Churn => {}
            Phase::Drain => {
                if waited >= TAIL_MS && !busy {
                    self.enter(Phase::Settle);
                } else if waited > SETTLE_MS_MAX {
                    return Err(format!("liveness: operations unfinished: {}", self.stuck()));
                }
            }
            Phase::Settle => match self.unsettled() {
                None => self.begin_finals(),
                Some(why) if waited > SETTLE_MS_MAX => {
                    return Err(format!(
                        "liveness: transfers unfinished after the churn: {why}"
                    ));
                }
                Some(_) => {}
            },
            Phase::Final => {
                if waited > SETTLE_MS_MAX {
                    return Err(format!(
                        "liveness: final reads unfinished: {}",
                        self.stuck()
                    ));
                }
                if !busy && self.clients.iter().all(|c| c.finals.is_empty()) {
                    self.enter(Phase::Sweep);
                }
            }
            Phase::Sweep => match self.strays() {
                Ok(kept) => {
                    self.stats.kept_for_liar = kept;
                    return Ok(true);
                }
                Err(why) if waited > SWEEP_WAIT_MS_MAX => {
                    return Err(format!("after the sweeps: {why}"));
                }
                Err(_) => {}
            },
        }
        Ok(false)
    }

    /// The operations still running, and the state of their groups.
    fn stuck(&self) -> String {
        let mut out = Vec::new();
        for (c, client) in self.clients.iter().enumerate() {
            let Some(op) = &client.op else { continue };
            let id = self.catalog.id(&op.kind);
            let group: Vec<String> = op
                .group
                .iter()
                .map(|g| {
                    let n = self.index[g];
                    let x = &self.nodes[n];
                    let r = x.mover.as_ref().map(Mover::report);
                    format!(
                        "node {n} (up {}, byzantine {}, knows {:?}, waiting {:?}, pending {:?}, incomplete here {:?}) {}",
                        x.up,
                        x.byzantine.is_some(),
                        x.known,
                        r.as_ref().map(|r| r.waiting),
                        r.as_ref().map(|r| r.pending_ranges),
                        x.saved
                            .epoch
                            .and_then(|e| x.saved.log.get(&e))
                            .map(|l| l.incomplete.contains(&id)),
                        if x.mover.is_some() {
                            self.why_stalled(n, &RangeSet::point(&id), 4)
                        } else {
                            String::new()
                        },
                    )
                })
                .collect();
            out.push(format!(
                "client {c}: {:?} attempt {} in {:?}, group [{}]",
                op.kind,
                op.attempt,
                op.epoch,
                group.join(", ")
            ));
        }
        out.join("; ")
    }

    /// Follows a stalled fetch down to what it waits for: members of its source group that
    /// cannot answer, and for each, whether it still fetches the range (and from whom) or
    /// gave it up incomplete.
    fn why_stalled(&self, n: usize, range: &Range, depth: usize) -> String {
        let Some(m) = &self.nodes[n].mover else {
            return format!("node {n} is down");
        };
        let whole = RangeSet::of(range);
        let Some(p) = m
            .saved()
            .pending
            .iter()
            .find(|p| RangeSet::of(&p.range).meets(&whole))
        else {
            let x = &self.nodes[n];
            let lost: Vec<String> = x
                .saved
                .log
                .iter()
                .filter(|(_, l)| whole.meets(&l.incomplete))
                .map(|(e, l)| {
                    format!(
                        "{}{}",
                        e.0,
                        if whole.meets(&l.owned) { "" } else { "(lost)" }
                    )
                })
                .collect();
            return format!("node {n} fetches none of it; incomplete in epochs {lost:?}");
        };
        let member = self.configs[self.latest().0 as usize]
            .member(&self.nodes[n].id)
            .is_some();
        let mut out = format!(
            "node {n} (member {member}, {} of {} pending running) fetches it from {:?} (since {:?}, until {:?}, cursor {}):",
            m.report().running,
            m.saved().pending.len(),
            p.source,
            p.since,
            p.until,
            p.cursor.is_some()
        );
        if depth == 0 {
            return out + " ...";
        }
        if p.until.is_some() {
            // Kept for the past: it stops once every current owner holds the range.
            let latest = self.latest();
            let owners = self.rings[latest.0 as usize].replica_group(&p.range.end);
            out += " [current owners of its end:";
            for o in owners {
                let k = self.index[&o];
                let done = self.nodes[k]
                    .mover
                    .as_ref()
                    .map(|m| m.complete(latest, &[RangeSet::point(&p.range.end)]));
                out += &format!(" {k} complete {done:?}");
            }
            out += &format!("; dirty here {}]", m.saved().dirty.meets(&whole));
        }
        let ask = Ask::List {
            source: p.source,
            req: overlay::transfer::page::ListRequest {
                range: p.range,
                after: p.cursor,
                limit: 1,
            },
        };
        for g in &p.group {
            let k = self.index[g];
            let x = &self.nodes[k];
            let said = match (&x.mover, x.byzantine) {
                _ if x.dead => "dead".to_string(),
                (_, Some(b)) => format!("byzantine {:?}", b.transfer),
                (None, _) => "down".to_string(),
                (Some(xm), None) => match xm.may_answer(&ask) {
                    Ok(()) => "answers".to_string(),
                    Err(_) => format!("({})", self.why_stalled(k, &p.range, depth - 1)),
                },
            };
            out += &format!(" {k}: {said};");
        }
        out
    }

    /// Why the transfers are not finished, if they are not.
    fn unsettled(&self) -> Option<String> {
        let latest = self.latest();
        for (n, node) in self.nodes.iter().enumerate() {
            if !node.correct() || node.dead {
                continue;
            }
            if !node.up {
                return Some(format!("node {n} is down"));
            }
            let Some(m) = &node.mover else {
                return Some(format!("node {n} has no mover"));
            };
            let r = m.report();
            if node.known != Some(latest) || r.waiting || r.pending_ranges > 0 {
                if std::env::var_os("CHURN_DEBUG").is_some()
                    && self.sched.now() > self.phase_since + SETTLE_MS_MAX
                {
                    for p in &m.saved().pending {
                        eprintln!(
                            "node {n} pending {:?} from {:?} since {:?} until {:?}: {}",
                            p.range,
                            p.source,
                            p.since,
                            p.until,
                            self.why_stalled(n, &p.range, 2)
                        );
                    }
                }
                let first = m.saved().pending.first().map(|p| p.range);
                return Some(format!(
                    "node {n} knows {:?} (latest {latest:?}), waiting {}, {} ranges pending; {}",
                    node.known,
                    r.waiting,
                    r.pending_ranges,
                    first
                        .map(|r| self.why_stalled(n, &r, 4))
                        .unwrap_or_default()
                ));
            }
        }
        None
    }

    fn begin_finals(&mut self) {
        self.enter(Phase::Final);
        let latest = self.latest();
        let clients = self.clients.len();
        for o in 0..self.catalog.objects() {
            self.clients[o % clients]
                .finals
                .push_back(Kind::Read { object: o });
        }
        let stored: Vec<usize> = self.stored.keys().copied().collect();
        for (i, content) in stored.into_iter().enumerate() {
            self.clients[i % clients]
                .finals
                .push_back(Kind::Get { content });
        }
        for c in 0..clients {
            self.clients[c].epoch = latest;
            self.sched.at(0, Ev::Start { client: c });
        }
    }

    /// How many objects correct nodes keep outside their ranges because the Byzantine
    /// owner blocks their deletion, or why the stores are not clean.
    fn strays(&self) -> Result<usize, String> {
        let latest = self.latest();
        let ring = &self.rings[latest.0 as usize];
        let blocker = self
            .nodes
            .iter()
            .find(|x| x.byzantine.is_some_and(|b| b.complete.blocks_deletion()))
            .map(|x| x.id);
        let mut kept = 0;
        for (n, node) in self.nodes.iter().enumerate() {
            if !node.correct() || node.dead {
                continue;
            }
            let owned = RangeSet::of_all(&ring.ranges_of(&node.id));
            let ids = node.store.versions.keys().chain(node.store.content.keys());
            for id in ids.filter(|id| !owned.contains(id)) {
                let group = ring.replica_group(id);
                if blocker.is_some_and(|b| group.contains(&b)) {
                    kept += 1;
                    continue;
                }
                return Err(format!(
                    "node {n} still holds {id:?}, which it does not own in {latest:?}"
                ));
            }
        }
        Ok(kept)
    }
}
