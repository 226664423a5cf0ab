//! The simulated world: nodes, the network, the event queue, and how PBFT's actions travel.

use std::collections::{BTreeMap, BTreeSet};

use overlay::config::{Configuration, Member, choose_ms_group};
use overlay::crypto::{PublicKey, SecretKey};
use overlay::epoch::EpochCert;
use overlay::id::{ClientId, Epoch, Hash, NodeId};
use overlay::ms::driver::Driver;
use overlay::ms::{MsApp, MsError, Op, Receipt, State};
use overlay::pbft::{
    Action, ClientAction, Config, Event, Replica, ReplicaIdx, Seq, Signed, SignedReply,
    SignedRequest, Timer,
};
use overlay::threshold::session::SignMsg;
use overlay::threshold::{self, KeyPackage};
use overlay::time::Timestamp;
use rand::Rng as _;
use rand::SeedableRng;

use super::Params;
use super::node::{Inst, Node, Sub};
use crate::byzantine::pbft::{Behaviour, Liar};
use crate::ms_sim::Fault;
use crate::sim::{self, Network, Rng, Scheduler};

/// The MS wall clock at simulated time 0.
pub(super) const T0: Timestamp = Timestamp(1_700_000_000);
/// Driver tick period.
pub(super) const TICK_MS: u64 = 100;
/// Poll period of a node following an instance.
pub(super) const POLL_MS: u64 = 400;
/// The MS epoch interval.
pub(super) const EPOCH_MS: u64 = 800;
/// Network indices the partitions cut (more than any run's nodes).
pub(super) const NET_MAX: usize = 64;

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The last certified epoch.
    pub epochs: u64,
    /// Events processed.
    pub steps: u64,
    /// Simulated milliseconds.
    pub sim_ms: u64,
    /// Operations executed by correct replicas (summed over replicas).
    pub executed: u64,
    /// The hash of the last configuration (equal seeds give equal hashes).
    pub last: Hash,
    /// The Byzantine node's behaviours, if there was one.
    pub byzantine: Option<(Behaviour, Fault)>,
    /// Signature shares a coordinator rejected.
    pub excluded: u64,
    /// Nodes a correct replica caught signing two digests for one PBFT step and reported.
    pub accused: u64,
    /// Of those, how many the MS evicted by the last epoch.
    pub accused_evicted: u64,
}

pub(super) enum Ev {
    Msg {
        inst: Epoch,
        to: usize,
        msg: Signed,
    },
    Req {
        inst: Epoch,
        to: usize,
        req: SignedRequest,
    },
    Reply {
        inst: Epoch,
        to: usize,
        reply: SignedReply,
    },
    Timer {
        node: usize,
        inst: Epoch,
        timer: Timer,
        generation: u64,
    },
    ClientTimer {
        node: usize,
        inst: Epoch,
        generation: u64,
    },
    Tick {
        node: usize,
        life: u64,
    },
    Sign {
        to: usize,
        from: usize,
        msg: SignMsg,
    },
    Signed {
        to: usize,
        from: usize,
        msg: SignMsg,
    },
    CoordTimer {
        node: usize,
        session: Hash,
        attempt: u32,
    },
    Poll {
        to: usize,
        from: usize,
        inst: Epoch,
    },
    Polled {
        to: usize,
        from: usize,
        inst: Epoch,
        app: Box<MsApp>,
    },
    Churn,
    Crash {
        node: usize,
    },
    Restart {
        node: usize,
    },
    Die,
    Equivocate,
    Isolate {
        node: usize,
    },
    Heal,
}

pub(super) struct World {
    pub p: Params,
    pub rng: Rng,
    pub sched: Scheduler<Ev>,
    pub net: Network,
    /// Index 0 is the admin.
    pub nodes: Vec<Node>,
    pub ix: BTreeMap<NodeId, usize>,
    pub byz: Option<usize>,
    pub ms_key: PublicKey,
    pub genesis_seed: Hash,
    /// Certified configurations (epoch 0: genesis) and their certificates.
    pub configs: BTreeMap<Epoch, Configuration>,
    pub certs: BTreeMap<Epoch, EpochCert>,
    pub pcfgs: BTreeMap<Epoch, Config>,
    pub agreed: BTreeMap<(Epoch, Seq), Hash>,
    /// What the admin asked for, and what the world did.
    pub added: BTreeSet<NodeId>,
    pub removed: BTreeSet<NodeId>,
    pub revoked: BTreeSet<ClientId>,
    pub dead: BTreeSet<NodeId>,
    pub evidenced: BTreeSet<NodeId>,
    /// Nodes a correct replica caught equivocating in PBFT and reported (they may leave; the
    /// report may also come too late for its instance, so they need not).
    pub accused: BTreeSet<NodeId>,
    /// The node that reported the evidence.
    pub reporter: Option<usize>,
    pub rounds_done: usize,
    pub next_key: u64,
    pub steps: u64,
    pub executed: u64,
    pub excluded: u64,
    pub trace: bool,
}

fn key(seed: u64, i: u64) -> SecretKey {
    SecretKey::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(
        seed.wrapping_mul(1_000_003) ^ i,
    ))
}

/// PBFT timing for MS instances, short enough that view changes and checkpoints happen.
pub(super) fn pbft_config(config: &Configuration) -> Config {
    let mut cfg = Config::for_ms(config);
    cfg.checkpoint_interval = 8;
    cfg.log_window = 24;
    cfg.batch_max = 8;
    cfg.pipeline_max = 2;
    cfg.pending_max = 64;
    cfg.view_change_timeout_ms = 500;
    cfg.status_interval_ms = 200;
    cfg
}

/// Runs seed `seed` with `p`; an `Err` names the broken invariant.
pub fn run(seed: u64, p: Params) -> Result<Outcome, String> {
    let mut rng = sim::rng(seed);
    let authority = key(seed, 999_999);
    let keys: Vec<SecretKey> = (0..p.members as u64).map(|i| key(seed, i)).collect();
    let mut members: Vec<Member> = keys
        .iter()
        .map(|k| Member {
            key: k.public(),
            addrs: vec!["/ip4/10.0.0.1/tcp/7700".into()],
        })
        .collect();
    members.sort_by_key(Member::id);
    let ids: Vec<NodeId> = members.iter().map(Member::id).collect();
    let genesis_seed = Hash::of(&[b"genesis", &seed.to_be_bytes()]);
    let config = Configuration {
        epoch: Epoch(0),
        ms_group: choose_ms_group(&ids, 1, &genesis_seed),
        members,
        f: 1,
        f_ms: 1,
        vnodes: 4,
        revoked: BTreeMap::new(),
    };
    let dealt = threshold::deal(&config.ms_group, 1, &mut rng).map_err(|e| e.to_string())?;
    let ms_key = threshold::group_key(&dealt.public).map_err(|e| e.to_string())?;
    let public = dealt.public.serialize().map_err(|e| e.to_string())?;
    let state = State::new(authority.public(), config.clone(), genesis_seed, T0, public);
    let mut w = World {
        net: Network::new(p.net.clone()),
        sched: Scheduler::default(),
        nodes: vec![Node::new(authority, config.clone(), None)],
        ix: BTreeMap::new(),
        byz: None,
        ms_key,
        genesis_seed,
        configs: BTreeMap::from([(Epoch(0), config.clone())]),
        certs: BTreeMap::new(),
        pcfgs: BTreeMap::from([(Epoch(0), pbft_config(&config))]),
        agreed: BTreeMap::new(),
        added: BTreeSet::new(),
        removed: BTreeSet::new(),
        revoked: BTreeSet::new(),
        dead: BTreeSet::new(),
        evidenced: BTreeSet::new(),
        accused: BTreeSet::new(),
        reporter: None,
        rounds_done: 0,
        next_key: 1_000,
        steps: 0,
        executed: 0,
        excluded: 0,
        trace: std::env::var("SIM_TRACE").is_ok(),
        rng,
        p,
    };
    let admin = w.nodes[0].id;
    w.ix.insert(admin, 0);
    for k in keys {
        let id = NodeId::of(&k.public());
        let share = dealt.shares.get(&id).cloned();
        w.add_node(k, config.clone(), share);
    }
    if w.p.byzantine.is_some() {
        let g = config.ms_group[w.rng.gen_range(0..config.ms_group.len())];
        w.byz = Some(w.ix[&g]);
    }
    for id in &config.ms_group {
        w.start_inst(w.ix[id], &state);
    }
    w.schedule_faults();
    w.sched.at(200, Ev::Churn);
    w.run()
}

impl World {
    /// A node with `key` following `config`, up from now on.
    pub fn add_node(&mut self, key: SecretKey, config: Configuration, share: Option<KeyPackage>) {
        let mut n = Node::new(key, config, share);
        n.driver = Some(Driver::new(n.key(), n.disk_share.clone(), EPOCH_MS));
        let node = self.nodes.len();
        self.ix.insert(n.id, node);
        self.nodes.push(n);
        let first = self.rng.gen_range(1..TICK_MS);
        self.sched.at(first, Ev::Tick { node, life: 0 });
    }

    /// Whether node `i` is correct.
    pub fn correct(&self, i: usize) -> bool {
        self.byz != Some(i)
    }

    /// The Byzantine node's MS fault if `i` is it.
    pub fn fault(&self, i: usize) -> Option<Fault> {
        self.p
            .byzantine
            .filter(|_| self.byz == Some(i))
            .map(|b| b.1)
    }

    /// The newest certified epoch.
    pub fn latest(&self) -> Epoch {
        self.configs.keys().next_back().copied().unwrap_or(Epoch(0))
    }

    fn schedule_faults(&mut self) {
        let gst = self.p.net.gst_ms;
        let n = self.nodes.len();
        if self.p.crashes {
            let candidates: Vec<usize> = (1..n).filter(|i| self.correct(*i)).collect();
            let node = candidates[self.rng.gen_range(0..candidates.len())];
            let at = self.rng.gen_range(0..gst / 2);
            self.sched.at(at, Ev::Crash { node });
            self.sched
                .at(self.rng.gen_range(at + 1..gst), Ev::Restart { node });
        }
        if self.p.partitions {
            for _ in 0..2 {
                let node = self.rng.gen_range(1..n);
                let at = self.rng.gen_range(0..gst);
                self.sched.at(at, Ev::Isolate { node });
                self.sched.at(self.rng.gen_range(at..=gst), Ev::Heal);
            }
        }
        if self.p.dies {
            let at = self.rng.gen_range(300..gst + 2_000);
            self.sched.at(at, Ev::Die);
        }
        if self.p.equivocates {
            let at = self.rng.gen_range(300..gst + 2_000);
            self.sched.at(at, Ev::Equivocate);
        }
    }

    fn run(mut self) -> Result<Outcome, String> {
        while let Some(ev) = self.sched.pop() {
            self.steps += 1;
            self.step(ev)?;
            let now = self.sched.now();
            if now >= self.p.net.gst_ms && self.steps.is_multiple_of(64) && self.finished() {
                return self.finish();
            }
            if now > self.p.end_ms {
                return Err(format!("liveness: {}", self.stuck()));
            }
        }
        Err("the event queue ran dry".into())
    }

    fn step(&mut self, ev: Ev) -> Result<(), String> {
        match ev {
            Ev::Msg { inst, to, msg } => {
                if let Some(l) = self.nodes[to]
                    .insts
                    .get_mut(&inst)
                    .and_then(|i| i.liar.as_mut())
                {
                    l.observe(&msg);
                }
                self.feed(to, inst, Event::Message(msg))?;
            }
            Ev::Req { inst, to, req } => self.feed(to, inst, Event::Request(req))?,
            Ev::Timer {
                node,
                inst,
                timer,
                generation,
            } => {
                let live = self.nodes[node]
                    .insts
                    .get(&inst)
                    .is_some_and(|i| i.timers.get(&timer) == Some(&generation));
                if live {
                    self.feed(node, inst, Event::Timer(timer))?;
                }
            }
            Ev::Reply { inst, to, reply } => {
                let n = &mut self.nodes[to];
                let acts = match n.subs.get_mut(&inst) {
                    Some(s) if n.alive => s.client.on_reply(reply),
                    _ => return Ok(()),
                };
                self.perform_client(to, inst, acts)?;
            }
            Ev::ClientTimer {
                node,
                inst,
                generation,
            } => {
                let acts = match self.nodes[node].subs.get_mut(&inst) {
                    Some(s) if s.generation == generation => s.client.on_timer(),
                    _ => return Ok(()),
                };
                self.perform_client(node, inst, acts)?;
            }
            Ev::Tick { node, life } => {
                let n = &self.nodes[node];
                if n.alive && n.life == life {
                    self.sched.at(TICK_MS, Ev::Tick { node, life });
                    self.tick(node)?;
                }
            }
            Ev::Sign { to, from, msg } => self.on_sign(to, from, msg),
            Ev::Signed { to, from, msg } => self.on_signed(to, from, msg)?,
            Ev::CoordTimer {
                node,
                session,
                attempt,
            } => self.on_coord_timer(node, session, attempt)?,
            Ev::Poll { to, from, inst } => self.on_poll(to, from, inst),
            Ev::Polled {
                to,
                from,
                inst,
                app,
            } => {
                let n = &mut self.nodes[to];
                if n.alive && n.epoch() == inst {
                    n.polls.insert(from, *app);
                }
            }
            Ev::Churn => self.churn()?,
            Ev::Crash { node } => {
                if self.trace {
                    println!("{:>6} node {node} crashes", self.sched.now());
                }
                self.nodes[node].crash()
            }
            Ev::Restart { node } => {
                if self.trace {
                    println!("{:>6} node {node} restarts", self.sched.now());
                }
                self.restart(node)?
            }
            Ev::Die => self.die(),
            Ev::Equivocate => self.equivocate()?,
            Ev::Isolate { node } => self.net.isolate(node, 0..NET_MAX),
            Ev::Heal => self.net.heal(),
        }
        Ok(())
    }

    fn restart(&mut self, node: usize) -> Result<(), String> {
        let n = &mut self.nodes[node];
        if n.alive || n.dead {
            return Ok(());
        }
        n.alive = true;
        n.driver = Some(Driver::new(n.key(), n.disk_share.clone(), EPOCH_MS));
        n.signer = n
            .disk_share
            .clone()
            .map(overlay::threshold::session::Signer::new);
        let key = n.key();
        let mut started = Vec::new();
        for (e, i) in n.insts.iter_mut().filter(|(_, i)| i.frozen.is_none()) {
            let mut r = Replica::recover(
                i.cfg.clone(),
                i.idx,
                SecretKey::from_seed(&key.seed()),
                MsApp::new(i.start.clone()),
                &i.records,
            );
            started.push((*e, r.start()));
            i.replica = Some(r);
        }
        let life = n.life;
        self.sched.at(1, Ev::Tick { node, life });
        for (e, acts) in started {
            self.perform(node, e, acts)?;
        }
        Ok(())
    }

    /// Starts `node`'s replica of the instance run by `state`'s configuration's group.
    pub fn start_inst(&mut self, node: usize, state: &State) {
        let e = state.config().epoch;
        let n = &self.nodes[node];
        if n.insts.contains_key(&e) || !n.alive {
            return;
        }
        let cfg = pbft_config(state.config());
        let Some(idx) = cfg.index_of(&n.key.public()) else {
            return;
        };
        let liar = self
            .p
            .byzantine
            .filter(|_| self.byz == Some(node))
            .map(|(b, _)| Liar::new(b, idx, n.key()));
        let mut replica = Replica::new(cfg.clone(), idx, n.key(), MsApp::new(state.clone()));
        let acts = replica.start();
        self.nodes[node].insts.insert(
            e,
            Inst {
                replica: Some(replica),
                start: state.clone(),
                records: Vec::new(),
                timers: BTreeMap::new(),
                liar,
                idx,
                cfg,
                frozen: None,
                handed: None,
            },
        );
        // Starting only sets timers and persists the view; nothing here can break an invariant.
        let _ = self.perform(node, e, acts);
    }

    fn feed(&mut self, node: usize, e: Epoch, ev: Event) -> Result<(), String> {
        if !self.nodes[node].alive {
            return Ok(());
        }
        let Some(inst) = self.nodes[node].insts.get_mut(&e) else {
            return Ok(());
        };
        let Some(replica) = inst.replica.as_mut() else {
            return Ok(());
        };
        let acts = replica.on_event(ev);
        if replica.log_len() as u64 > inst.cfg.log_window
            || replica.pending_len() > inst.cfg.pending_max
        {
            return Err(format!(
                "node {node}'s replica of instance {e} holds {} slots and {} pending requests: unbounded",
                replica.log_len(),
                replica.pending_len()
            ));
        }
        self.perform(node, e, acts)
    }

    fn perform(&mut self, node: usize, e: Epoch, actions: Vec<Action>) -> Result<(), String> {
        let Some(inst) = self.nodes[node].insts.get_mut(&e) else {
            return Ok(());
        };
        let cfg = inst.cfg.clone();
        let me = inst.idx;
        let actions = match inst.liar.as_mut() {
            Some(liar) => {
                let (out, rest) = liar.rewrite(&cfg, &mut self.rng, actions);
                for (to, msg) in out {
                    self.send_msg(node, e, &cfg, to, msg);
                }
                rest
            }
            None => actions,
        };
        let mut executed = false;
        for a in actions {
            match a {
                Action::Send { to, msg } => self.send_msg(node, e, &cfg, to, msg),
                Action::Broadcast(msg) => {
                    for to in (0..cfg.n() as u32).map(ReplicaIdx).filter(|r| *r != me) {
                        self.send_msg(node, e, &cfg, to, msg.clone());
                    }
                }
                Action::Reply(reply) => {
                    if let Some(to) = self.ix.get(&NodeId::of(&reply.reply.client)).copied() {
                        for d in self
                            .net
                            .deliveries(&mut self.rng, self.sched.now(), node, to)
                        {
                            let reply = reply.clone();
                            self.sched.at(d, Ev::Reply { inst: e, to, reply });
                        }
                    }
                }
                Action::Executed { seq, digest, .. } if self.correct(node) => {
                    executed = true;
                    self.executed += 1;
                    match self.agreed.get(&(e, seq)) {
                        Some(d) if *d != digest => {
                            return Err(format!(
                                "agreement: in instance {e}, node {node} executed {digest:?} at {seq:?}, another correct replica {d:?}"
                            ));
                        }
                        Some(_) => {}
                        None => {
                            self.agreed.insert((e, seq), digest);
                        }
                    }
                }
                Action::Restored { .. } if self.correct(node) => executed = true,
                // A correct replica caught a replica signing two digests for one step: it
                // reports the two messages, as a node does, and the MS evicts the signer.
                Action::Equivocation { a, b } if self.correct(node) => {
                    if let Some(culprit) = cfg.key(a.from).map(NodeId::of)
                        && self.accused.insert(culprit)
                    {
                        let op = Op::Misbehaviour(overlay::ms::Evidence::Pbft { a, b });
                        self.submit(node, e, MsApp::encode_op(&op))?;
                    }
                }
                Action::NewView(v) if self.trace => {
                    println!(
                        "{:>6} node {node} instance {e}: view {}",
                        self.sched.now(),
                        v.0
                    )
                }
                Action::SetTimer { timer, after_ms } => {
                    let Some(inst) = self.nodes[node].insts.get_mut(&e) else {
                        continue;
                    };
                    let g = inst.timers.entry(timer).or_default();
                    *g += 1;
                    let generation = *g;
                    self.sched.at(
                        after_ms,
                        Ev::Timer {
                            node,
                            inst: e,
                            timer,
                            generation,
                        },
                    );
                }
                Action::CancelTimer(timer) => {
                    if let Some(inst) = self.nodes[node].insts.get_mut(&e) {
                        *inst.timers.entry(timer).or_default() += 1;
                    }
                }
                Action::Persist(rec) => {
                    if self.trace
                        && let overlay::pbft::Record::View { view, active } = &rec
                    {
                        println!(
                            "{:>6} node {node} instance {e}: view {} active {active}",
                            self.sched.now(),
                            view.0
                        );
                    }
                    if let Some(inst) = self.nodes[node].insts.get_mut(&e) {
                        inst.records.push(rec);
                    }
                }
                _ => {}
            }
        }
        if executed {
            self.check_replica(node, e)?;
        }
        Ok(())
    }

    fn send_msg(&mut self, from: usize, e: Epoch, cfg: &Config, to: ReplicaIdx, msg: Signed) {
        let Some(to) = cfg
            .key(to)
            .and_then(|k| self.ix.get(&NodeId::of(k)))
            .copied()
        else {
            return;
        };
        for d in self
            .net
            .deliveries(&mut self.rng, self.sched.now(), from, to)
        {
            let msg = msg.clone();
            self.sched.at(d, Ev::Msg { inst: e, to, msg });
        }
    }

    /// Schedules `ev()` once per delivery of a message from `from` to `to`: never if the
    /// network loses it, twice if it duplicates it.
    pub fn deliver(&mut self, from: usize, to: usize, ev: impl Fn() -> Ev) {
        for d in self
            .net
            .deliveries(&mut self.rng, self.sched.now(), from, to)
        {
            self.sched.at(d, ev());
        }
    }

    /// Queues operation bytes on `node`'s PBFT client of instance `e`.
    pub fn submit(&mut self, node: usize, e: Epoch, op: Vec<u8>) -> Result<(), String> {
        let Some(cfg) = self.pcfgs.get(&e).cloned() else {
            return Ok(());
        };
        let now = self.sched.now();
        let n = &mut self.nodes[node];
        if !n.alive {
            return Ok(());
        }
        let key = n.key();
        let sub = n.subs.entry(e).or_insert_with(|| Sub {
            client: overlay::pbft::Client::new(cfg, key, now * 1_000 + 1, 600),
            queue: Default::default(),
            generation: 0,
            inflight: None,
        });
        if self.trace {
            let what = overlay::encoding::decode::<overlay::ms::Op>(&op, usize::MAX)
                .map(|o| format!("{o:?}").chars().take(60).collect::<String>())
                .unwrap_or_default();
            println!("{now:>6} node {node} -> instance {e}: {what}");
        }
        sub.queue.push_back(op);
        self.pump(node, e)
    }

    fn pump(&mut self, node: usize, e: Epoch) -> Result<(), String> {
        let Some(sub) = self.nodes[node].subs.get_mut(&e) else {
            return Ok(());
        };
        if sub.client.busy() {
            return Ok(());
        }
        let Some(op) = sub.queue.pop_front() else {
            return Ok(());
        };
        sub.inflight = Some(op.clone());
        let acts = sub.client.submit(op).unwrap_or_default();
        self.perform_client(node, e, acts)
    }

    fn perform_client(
        &mut self,
        node: usize,
        e: Epoch,
        acts: Vec<ClientAction>,
    ) -> Result<(), String> {
        let Some(cfg) = self.pcfgs.get(&e).cloned() else {
            return Ok(());
        };
        for a in acts {
            match a {
                ClientAction::Send { to, request } => self.client_send(node, e, &cfg, to, request),
                ClientAction::Broadcast(request) => {
                    for to in (0..cfg.n() as u32).map(ReplicaIdx) {
                        self.client_send(node, e, &cfg, to, request.clone());
                    }
                }
                ClientAction::SetTimer { after_ms } => {
                    if let Some(s) = self.nodes[node].subs.get_mut(&e) {
                        s.generation += 1;
                        let generation = s.generation;
                        self.sched.at(
                            after_ms,
                            Ev::ClientTimer {
                                node,
                                inst: e,
                                generation,
                            },
                        );
                    }
                }
                ClientAction::CancelTimer => {
                    if let Some(s) = self.nodes[node].subs.get_mut(&e) {
                        s.generation += 1;
                    }
                }
                ClientAction::Done { result, .. } => {
                    if self.trace {
                        println!(
                            "{:>6} node {node} <- instance {e}: {:?}",
                            self.sched.now(),
                            MsApp::decode_receipt(&result)
                        );
                    }
                    let op = self.nodes[node]
                        .subs
                        .get_mut(&e)
                        .and_then(|s| s.inflight.take());
                    match op {
                        Some(op) if node == 0 => self.admin_done(e, op, &result)?,
                        // Evidence that reached an instance after it handed over goes on to
                        // the newest one, as a reporter that learns of it would send it.
                        Some(op)
                            if matches!(
                                MsApp::decode_receipt(&result),
                                Some(Receipt::Refused(MsError::HandedOver(_)))
                            ) && matches!(
                                overlay::encoding::decode::<Op>(&op, usize::MAX),
                                Ok(Op::Misbehaviour(_))
                            ) =>
                        {
                            let l = self.latest();
                            self.submit(node, l, op)?;
                        }
                        _ => {}
                    }
                    self.pump(node, e)?;
                }
            }
        }
        Ok(())
    }

    fn client_send(
        &mut self,
        from: usize,
        e: Epoch,
        cfg: &Config,
        to: ReplicaIdx,
        req: SignedRequest,
    ) {
        if let Some(to) = cfg
            .key(to)
            .and_then(|k| self.ix.get(&NodeId::of(k)))
            .copied()
        {
            self.deliver(from, to, || Ev::Req {
                inst: e,
                to,
                req: req.clone(),
            });
        }
    }
}
