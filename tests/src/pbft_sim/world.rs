//! One simulated PBFT run and its invariants.

use std::collections::{BTreeMap, BTreeSet};

use overlay::crypto::SecretKey;
use overlay::id::Hash;
use overlay::pbft::{
    Action, Client, ClientAction, Config, Event, Record, Replica, ReplicaIdx, Seq, Signed,
    SignedReply, SignedRequest, Timer,
};
use rand::Rng as _;

use super::Params;
use super::app::{Entry, LogApp};
use crate::byzantine::pbft::Liar;
use crate::sim::{self, Network, Rng, Scheduler};

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Events processed.
    pub steps: u64,
    /// Simulated milliseconds.
    pub sim_ms: u64,
    /// Highest view any correct replica entered.
    pub max_view: u64,
    /// Requests in the agreed history.
    pub executed: usize,
    /// Hash of the agreed history (equal seeds give equal hashes).
    pub history: Hash,
}

enum Ev {
    Msg {
        to: usize,
        msg: Signed,
    },
    Req {
        to: usize,
        req: SignedRequest,
    },
    Reply {
        client: usize,
        reply: SignedReply,
    },
    Timer {
        r: usize,
        timer: Timer,
        generation: u64,
    },
    ClientTimer {
        c: usize,
        generation: u64,
    },
    Submit {
        c: usize,
    },
    Crash {
        r: usize,
    },
    Restart {
        r: usize,
    },
    Isolate {
        r: usize,
    },
    Heal,
}

struct SimClient {
    client: Client,
    key: SecretKey,
    left: usize,
    done: Vec<(u64, Vec<u8>)>,
    generation: u64,
}

struct World {
    p: Params,
    cfg: Config,
    rng: Rng,
    sched: Scheduler<Ev>,
    net: Network,
    keys: Vec<SecretKey>,
    replicas: Vec<Option<Replica<LogApp>>>,
    records: Vec<Vec<Record>>,
    liars: Vec<Option<Liar>>,
    timers: BTreeMap<(usize, Timer), u64>,
    clients: Vec<SimClient>,
    agreed: BTreeMap<Seq, Hash>,
    reference: Vec<Entry>,
    max_view: u64,
    steps: u64,
    trace: bool,
}

/// PBFT parameters small enough that checkpoints, watermarks and catch-up happen often.
fn pbft_config(keys: &[SecretKey], f: usize) -> Config {
    let mut cfg = Config::new(
        Hash::of(&[b"sim"]),
        keys.iter().map(SecretKey::public).collect(),
        f,
    );
    cfg.checkpoint_interval = 4;
    cfg.log_window = 12;
    cfg.batch_max = 4;
    cfg.pipeline_max = 2;
    cfg.pending_max = 64;
    cfg.view_change_timeout_ms = 400;
    cfg.status_interval_ms = 150;
    cfg
}

/// Runs one simulation; an `Err` names the broken invariant.
pub fn run(seed: u64, p: Params) -> Result<Outcome, String> {
    let mut rng = sim::rng(seed);
    let keys: Vec<SecretKey> = (0..p.n).map(|_| SecretKey::generate(&mut rng)).collect();
    let cfg = pbft_config(&keys, p.f);
    let mut w = World {
        net: Network::new(p.net.clone()),
        cfg: cfg.clone(),
        sched: Scheduler::default(),
        replicas: Vec::new(),
        records: vec![Vec::new(); p.n],
        liars: (0..p.n).map(|_| None).collect(),
        timers: BTreeMap::new(),
        clients: Vec::new(),
        agreed: BTreeMap::new(),
        reference: Vec::new(),
        max_view: 0,
        steps: 0,
        trace: std::env::var("SIM_TRACE").is_ok(),
        keys,
        rng,
        p,
    };
    w.setup()?;
    w.run()
}

impl World {
    fn setup(&mut self) -> Result<(), String> {
        for (r, b) in self.p.byzantine.clone() {
            self.liars[r] = Some(Liar::new(b, ReplicaIdx(r as u32), self.key(r)));
        }
        for r in 0..self.p.n {
            let replica = Replica::new(
                self.cfg.clone(),
                ReplicaIdx(r as u32),
                self.key(r),
                LogApp::default(),
            );
            self.replicas.push(Some(replica));
            let start = self.replicas[r]
                .as_mut()
                .map(Replica::start)
                .unwrap_or_default();
            self.perform(r, start)?;
        }
        for c in 0..self.p.clients {
            let key = SecretKey::generate(&mut self.rng);
            let client = Client::new(self.cfg.clone(), SecretKey::from_seed(&key.seed()), 0, 600);
            self.clients.push(SimClient {
                client,
                key,
                left: self.p.requests,
                done: Vec::new(),
                generation: 0,
            });
            let at = self.rng.gen_range(0..500);
            self.sched.at(at, Ev::Submit { c });
        }
        let gst = self.p.net.gst_ms;
        if self.p.crashes {
            let correct: Vec<usize> = (0..self.p.n).filter(|r| self.liars[*r].is_none()).collect();
            let r = correct[self.rng.gen_range(0..correct.len())];
            let at = self.rng.gen_range(0..gst / 2);
            self.sched.at(at, Ev::Crash { r });
            self.sched
                .at(self.rng.gen_range(at + 1..gst), Ev::Restart { r });
        }
        if self.p.partitions {
            for _ in 0..2 {
                let r = self.rng.gen_range(0..self.p.n);
                let at = self.rng.gen_range(0..gst);
                self.sched.at(at, Ev::Isolate { r });
                self.sched.at(self.rng.gen_range(at..=gst), Ev::Heal);
            }
        }
        Ok(())
    }

    fn key(&self, r: usize) -> SecretKey {
        SecretKey::from_seed(&self.keys[r].seed())
    }

    fn correct(&self, r: usize) -> bool {
        self.liars[r].is_none()
    }

    fn run(mut self) -> Result<Outcome, String> {
        while let Some(ev) = self.sched.pop() {
            self.steps += 1;
            self.step(ev)?;
            let now = self.sched.now();
            let all_done = self.clients.iter().all(|c| c.left == 0);
            if all_done && now >= self.p.net.gst_ms {
                return self.finish();
            }
            if now > self.p.end_ms {
                let left: Vec<usize> = self.clients.iter().map(|c| c.left).collect();
                return Err(format!(
                    "liveness: requests left per client {left:?} at {now} ms, {} ms after GST; views up to {}",
                    now - self.p.net.gst_ms,
                    self.max_view
                ));
            }
        }
        Err("the event queue ran dry".into())
    }

    fn step(&mut self, ev: Ev) -> Result<(), String> {
        match ev {
            Ev::Msg { to, msg } => {
                if let Some(l) = self.liars[to].as_mut() {
                    l.observe(&msg);
                }
                self.feed(to, Event::Message(msg))?;
            }
            Ev::Req { to, req } => self.feed(to, Event::Request(req))?,
            Ev::Timer {
                r,
                timer,
                generation,
            } => {
                if self.timers.get(&(r, timer)) == Some(&generation) {
                    self.feed(r, Event::Timer(timer))?;
                }
            }
            Ev::Reply { client, reply } => {
                let acts = self.clients[client].client.on_reply(reply);
                self.perform_client(client, acts);
            }
            Ev::ClientTimer { c, generation } => {
                if self.clients[c].generation == generation {
                    let acts = self.clients[c].client.on_timer();
                    self.perform_client(c, acts);
                }
            }
            Ev::Submit { c } => self.submit(c),
            Ev::Crash { r } => self.replicas[r] = None,
            Ev::Restart { r } => {
                let mut replica = Replica::recover(
                    self.cfg.clone(),
                    ReplicaIdx(r as u32),
                    self.key(r),
                    LogApp::default(),
                    &self.records[r],
                );
                let acts = replica.start();
                self.replicas[r] = Some(replica);
                self.perform(r, acts)?;
                self.check_replica(r)?;
            }
            Ev::Isolate { r } => self.net.isolate(r, 0..self.p.n + self.p.clients),
            Ev::Heal => self.net.heal(),
        }
        Ok(())
    }

    fn feed(&mut self, r: usize, ev: Event) -> Result<(), String> {
        let Some(replica) = self.replicas[r].as_mut() else {
            return Ok(());
        };
        let acts = replica.on_event(ev);
        let changed = acts
            .iter()
            .any(|a| matches!(a, Action::Executed { .. } | Action::Restored { .. }));
        self.perform(r, acts)?;
        if changed {
            self.check_replica(r)?;
        }
        if let Some(rep) = self.replicas[r].as_ref()
            && (rep.log_len() as u64 > self.cfg.log_window
                || rep.pending_len() > self.cfg.pending_max)
        {
            return Err(format!(
                "replica {r} holds {} slots and {} pending requests: unbounded",
                rep.log_len(),
                rep.pending_len()
            ));
        }
        Ok(())
    }

    fn perform(&mut self, r: usize, actions: Vec<Action>) -> Result<(), String> {
        if self.trace {
            for a in &actions {
                let line = match a {
                    Action::Send { to, msg } => format!("send to {} {}", to.0, brief(msg)),
                    Action::Broadcast(msg) => format!("bcast {}", brief(msg)),
                    Action::Persist(_)
                    | Action::SetTimer {
                        timer: Timer::Status,
                        ..
                    } => continue,
                    other => format!("{other:?}"),
                };
                let line: String = line.chars().take(160).collect();
                eprintln!("{:>6} r{r} {line}", self.sched.now());
            }
        }
        let actions = match self.liars[r].as_mut() {
            Some(liar) => {
                let (out, rest) = liar.rewrite(&self.cfg, &mut self.rng, actions);
                for (to, msg) in out {
                    self.send(r, to.0 as usize, msg);
                }
                rest
            }
            None => actions,
        };
        for a in actions {
            match a {
                Action::Send { to, msg } => self.send(r, to.0 as usize, msg),
                Action::Broadcast(msg) => {
                    for to in (0..self.p.n).filter(|to| *to != r) {
                        self.send(r, to, msg.clone());
                    }
                }
                Action::Reply(reply) => {
                    let key = reply.reply.client;
                    if let Some(c) = self.clients.iter().position(|c| c.key.public() == key) {
                        for d in
                            self.net
                                .deliveries(&mut self.rng, self.sched.now(), r, self.p.n + c)
                        {
                            self.sched.at(
                                d,
                                Ev::Reply {
                                    client: c,
                                    reply: reply.clone(),
                                },
                            );
                        }
                    }
                }
                Action::Executed { seq, digest, .. } if self.correct(r) => {
                    match self.agreed.get(&seq) {
                        Some(d) if *d != digest => {
                            return Err(format!(
                                "agreement: replica {r} executed {digest:?} at {seq:?}, another correct replica {d:?}"
                            ));
                        }
                        Some(_) => {}
                        None => {
                            self.agreed.insert(seq, digest);
                        }
                    }
                }
                Action::SetTimer { timer, after_ms } => {
                    let g = self.timers.entry((r, timer)).or_default();
                    *g += 1;
                    let generation = *g;
                    self.sched.at(
                        after_ms,
                        Ev::Timer {
                            r,
                            timer,
                            generation,
                        },
                    );
                }
                Action::CancelTimer(timer) => *self.timers.entry((r, timer)).or_default() += 1,
                Action::Persist(rec) => self.records[r].push(rec),
                Action::NewView(v) if self.correct(r) => self.max_view = self.max_view.max(v.0),
                _ => {}
            }
        }
        Ok(())
    }

    fn send(&mut self, from: usize, to: usize, msg: Signed) {
        for d in self
            .net
            .deliveries(&mut self.rng, self.sched.now(), from, to)
        {
            self.sched.at(
                d,
                Ev::Msg {
                    to,
                    msg: msg.clone(),
                },
            );
        }
    }

    fn submit(&mut self, c: usize) {
        let ts = self.clients[c].client.next_timestamp();
        let mut op = ts.to_be_bytes().to_vec();
        op.extend_from_slice(&self.rng.r#gen::<[u8; 8]>());
        if let Some(acts) = self.clients[c].client.submit(op) {
            self.perform_client(c, acts);
        }
    }

    fn perform_client(&mut self, c: usize, acts: Vec<ClientAction>) {
        let node = self.p.n + c;
        for a in acts {
            match a {
                ClientAction::Send { to, request } => {
                    self.client_send(node, to.0 as usize, request)
                }
                ClientAction::Broadcast(request) => {
                    for to in 0..self.p.n {
                        self.client_send(node, to, request.clone());
                    }
                }
                ClientAction::SetTimer { after_ms } => {
                    self.clients[c].generation += 1;
                    let generation = self.clients[c].generation;
                    self.sched.at(after_ms, Ev::ClientTimer { c, generation });
                }
                ClientAction::CancelTimer => self.clients[c].generation += 1,
                ClientAction::Done { timestamp, result } => {
                    let sc = &mut self.clients[c];
                    sc.done.push((timestamp, result));
                    sc.left -= 1;
                    if sc.left > 0 {
                        let think = self.rng.gen_range(0..50);
                        self.sched.at(think, Ev::Submit { c });
                    }
                }
            }
        }
    }

    fn client_send(&mut self, node: usize, to: usize, req: SignedRequest) {
        for d in self
            .net
            .deliveries(&mut self.rng, self.sched.now(), node, to)
        {
            self.sched.at(
                d,
                Ev::Req {
                    to,
                    req: req.clone(),
                },
            );
        }
    }

    /// Safety after a correct replica's history changed: it is a prefix of the longest
    /// correct history (or extends it), and executes no request twice.
    fn check_replica(&mut self, r: usize) -> Result<(), String> {
        if !self.correct(r) {
            return Ok(());
        }
        let Some(rep) = self.replicas[r].as_ref() else {
            return Ok(());
        };
        let log = &rep.app().log;
        let common = log.len().min(self.reference.len());
        if log[..common] != self.reference[..common] {
            let at = (0..common)
                .find(|i| log[*i] != self.reference[*i])
                .unwrap_or(0);
            return Err(format!(
                "prefix: replica {r}'s history differs from another correct replica's at entry {at}"
            ));
        }
        let mut seen = BTreeSet::new();
        if let Some(dup) = log.iter().find(|(c, ts, _)| !seen.insert((*c, *ts))) {
            return Err(format!(
                "exactly once: replica {r} executed (client {}, ts {}) twice",
                hex::encode(&dup.0[..4]),
                dup.1
            ));
        }
        if log.len() > self.reference.len() {
            self.reference = log.clone();
        }
        Ok(())
    }

    /// Liveness held (every client finished); check each result against the history.
    fn finish(self) -> Result<Outcome, String> {
        for (c, sc) in self.clients.iter().enumerate() {
            let me = sc.key.public().to_bytes();
            for (ts, result) in &sc.done {
                let at: Vec<usize> = self
                    .reference
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.0 == me && e.1 == *ts)
                    .map(|(i, _)| i)
                    .collect();
                if at.len() != 1 {
                    return Err(format!(
                        "exactly once: client {c}'s request {ts} appears {} times in the history",
                        at.len()
                    ));
                }
                if *result != LogApp::result_at(at[0]) {
                    return Err(format!(
                        "client {c} accepted a wrong result for request {ts}"
                    ));
                }
            }
        }
        let mut h = Vec::new();
        for e in &self.reference {
            h.extend_from_slice(&e.0);
            h.extend_from_slice(&e.1.to_be_bytes());
            h.extend_from_slice(&e.2);
        }
        Ok(Outcome {
            steps: self.steps,
            sim_ms: self.sched.now(),
            max_view: self.max_view,
            executed: self.reference.len(),
            history: Hash::of(&[&h]),
        })
    }
}

fn brief(m: &Signed) -> String {
    use overlay::pbft::Payload::*;
    match &m.payload {
        Request(r) => format!("request ts {}", r.request.timestamp),
        PrePrepare {
            view,
            seq,
            digest,
            batch,
        } => format!(
            "pre-prepare v{} n{} {digest:?} ({} reqs)",
            view.0,
            seq.0,
            batch.0.len()
        ),
        Prepare { view, seq, digest } => format!("prepare v{} n{} {digest:?}", view.0, seq.0),
        Commit { view, seq, digest } => format!("commit v{} n{} {digest:?}", view.0, seq.0),
        Checkpoint { seq, state } => format!("checkpoint n{} {state:?}", seq.0),
        ViewChange(vc) => format!(
            "view-change to v{} stable n{} prepared {}",
            vc.new_view.0,
            vc.stable.seq.0,
            vc.prepared.len()
        ),
        NewView(nv) => format!(
            "new-view v{} ({} vcs, {} pre-prepares)",
            nv.view.0,
            nv.view_changes.len(),
            nv.pre_prepares.len()
        ),
        Status {
            view,
            active,
            last_exec,
            stable,
        } => format!(
            "status v{} active {active} exec n{} stable n{}",
            view.0, last_exec.0, stable.0
        ),
        Stable(p) => format!("stable proof n{}", p.seq.0),
        Catchup(c) => format!(
            "catchup cp {:?} + {} committed",
            c.checkpoint.as_ref().map(|(p, _)| p.seq.0),
            c.committed.len()
        ),
    }
}
