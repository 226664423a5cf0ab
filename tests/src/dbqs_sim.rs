//! dBQS under deterministic simulation (issue 5): four replicas (f = 1) with real replica
//! logic, clients running the real read and write state machines over the simulated network
//! (delays, loss, duplicates, partitions before GST), one replica lying in most runs. Every
//! object's history of invocations and returns goes to stateright's `LinearizabilityTester`
//! over a register; a history it rejects fails the run, and so does an operation left
//! unfinished after GST.
//!
//! In "shared owner" runs every client writes with one owner key, so two clients race to
//! write one object: the versions they sign can share a number and are ordered by digest.

use std::collections::BTreeMap;

use overlay::crypto::SecretKey;
use overlay::dbqs::client::{Action, Group, Outcome, Read, Write};
use overlay::dbqs::content::{GetContent, PutContent};
use overlay::dbqs::fixture;
use overlay::dbqs::mem::MemStore;
use overlay::dbqs::object::{Version, content_id, keyed_id, value_digest};
use overlay::dbqs::replica::{self, Refusal, Reply, Request};
use overlay::id::{Epoch, Hash};
use rand::Rng as _;
use rand::seq::SliceRandom;
use stateright::semantics::register::{Register, RegisterOp, RegisterRet};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester};

use crate::sim::{self, NetConfig, Network, Rng, Scheduler};

/// How the lying replica behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liar {
    /// Answers nothing.
    Silent,
    /// Answers reads with the first version it stored, acknowledges writes it drops.
    Stale,
    /// Answers reads with a higher version it made up (the signature does not verify).
    Forge,
    /// Refuses every request.
    Refuse,
    /// Answers correctly, late.
    Slow,
    /// Serves other bytes for content objects and acknowledges content it does not keep.
    WrongContent,
    /// Says every request is from the wrong epoch (alternately older and newer than its own).
    WrongEpoch,
}

/// Every behaviour, for drawing one.
pub const LIARS: [Liar; 7] = [
    Liar::Silent,
    Liar::Stale,
    Liar::Forge,
    Liar::Refuse,
    Liar::Slow,
    Liar::WrongContent,
    Liar::WrongEpoch,
];

/// The shape of one run.
#[derive(Debug, Clone)]
pub struct Params {
    /// Clients, each running one operation at a time.
    pub clients: usize,
    /// Operations per client.
    pub ops: usize,
    /// Objects.
    pub objects: usize,
    /// Every client writes with one owner key.
    pub shared_owner: bool,
    /// The lying replica, if any.
    pub liar: Option<(usize, Liar)>,
    /// The network.
    pub net: NetConfig,
    /// Isolate a replica for a while before GST.
    pub partitions: bool,
    /// Writers may crash with their version at one replica.
    pub crashes: bool,
}

impl Params {
    /// The parameters of run `seed`.
    pub fn draw(seed: u64) -> Params {
        let mut rng = sim::rng(seed ^ 0x0dbc_5eed);
        let gst_ms = rng.gen_range(200..3_000);
        Params {
            clients: rng.gen_range(2..=4),
            ops: rng.gen_range(4..=8),
            objects: rng.gen_range(1..=2),
            shared_owner: rng.gen_bool(0.5),
            liar: rng.gen_bool(0.8).then(|| {
                (
                    rng.gen_range(0..4),
                    *LIARS.choose(&mut rng).unwrap_or(&Liar::Silent),
                )
            }),
            net: NetConfig {
                delay_min_ms: 1,
                delay_max_ms: rng.gen_range(5..40),
                tail_prob: 0.05,
                tail_max_ms: 400,
                drop_prob: *[0.0, 0.05, 0.15].choose(&mut rng).unwrap_or(&0.0),
                dup_prob: *[0.0, 0.05].choose(&mut rng).unwrap_or(&0.0),
                gst_ms,
            },
            partitions: rng.gen_bool(0.3),
            crashes: rng.gen_bool(0.6),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// Operations completed.
    pub ops: usize,
    /// Reads that returned a value.
    pub reads_with_value: usize,
    /// Writers that crashed mid-write.
    pub crashed_writers: usize,
    /// Content objects read back (each checked against the bytes stored under its id).
    pub content_reads: usize,
    /// Simulated milliseconds.
    pub sim_ms: u64,
}

enum Ev {
    ToReplica {
        to: usize,
        client: usize,
        op: u64,
        req: Request,
    },
    ToClient {
        client: usize,
        op: u64,
        from: usize,
        reply: Reply,
    },
    Timer {
        client: usize,
        op: u64,
    },
    Start {
        client: usize,
    },
    Isolate {
        replica: usize,
    },
    Heal,
}

enum Running {
    Write(Box<Write>),
    Read(Read),
    /// A content put of content object `k`.
    Put(PutContent, usize),
    /// A content get of object `k`, and when it was invoked.
    Get(GetContent, usize, u64),
}

/// The content objects runs store: a few distinct values of a few sizes.
pub(crate) fn content_bytes(seed: u64, k: usize) -> Vec<u8> {
    format!("content {seed} {k} ")
        .repeat(1 + k * 7)
        .into_bytes()
}

const CONTENT_OBJECTS: usize = 2;

struct Client {
    left: usize,
    op: u64,
    running: Option<(usize, Running)>,
    /// This write's client crashes once it sent its version to one replica.
    crashes: bool,
}

const N: usize = 4;

/// The register value a read returned: the number a client wrote, or none (never written,
/// or deleted).
pub(crate) fn register_value(v: Option<&Version>) -> Result<Option<u64>, String> {
    let Some(bytes) = v.and_then(|v| v.value.as_deref()) else {
        return Ok(None);
    };
    let arr: [u8; 8] = bytes
        .try_into()
        .map_err(|_| "a read returned a value no client wrote".to_string())?;
    Ok(Some(u64::from_be_bytes(arr)))
}

/// What liar `liar`, a replica in epoch `epoch` holding `store`, says to `req` when it lies
/// about it (`Some(None)`: nothing), or `None` when it answers as a correct replica would.
/// `first` keeps the first version a stale liar was sent of each object; `flip` alternates a
/// wrong-epoch liar's story.
pub(crate) fn lie(
    liar: Liar,
    store: &MemStore,
    first: &mut BTreeMap<Hash, Version>,
    flip: &mut bool,
    epoch: Epoch,
    req: &Request,
) -> Option<Option<Reply>> {
    let reply = match (liar, req) {
        (Liar::Silent, _) => None,
        (Liar::Refuse, _) => Some(Reply::Refused(Refusal::Storage("refused by a liar".into()))),
        (Liar::WrongEpoch, _) => {
            *flip = !*flip;
            Some(Reply::Refused(if *flip {
                Refusal::StaleEpoch {
                    client: epoch,
                    current: Epoch(epoch.0 + 9),
                }
            } else {
                Refusal::ReplicaBehind {
                    client: epoch,
                    current: epoch,
                }
            }))
        }
        (Liar::WrongContent, Request::GetContent { .. }) => {
            let key = SecretKey::from_seed(&[0xEE; 32]);
            let wrong = fixture::content(&key, b"not what was stored".to_vec());
            Some(Reply::Content(Some(Box::new(wrong))))
        }
        (Liar::WrongContent, Request::PutContent { .. }) => Some(Reply::ContentStored {
            id: content_id(b"something else"),
        }),
        (Liar::Stale, Request::Read { id }) => {
            Some(Reply::Version(first.get(id).cloned().map(Box::new)))
        }
        (Liar::Stale, Request::Write { version }) => {
            first
                .entry(version.id())
                .or_insert_with(|| (**version).clone());
            Some(Reply::Stored {
                held: version.key(),
            })
        }
        (Liar::Forge, Request::Read { id }) => {
            let mut v =
                store.versions.get(id).cloned().unwrap_or_else(|| {
                    Version::sign(&SecretKey::from_seed(&[7; 32]), b"x", 1, None)
                });
            v.stamp.number += 1_000;
            v.value = Some(u64::MAX.to_be_bytes().to_vec());
            v.stamp.digest = value_digest(v.value.as_deref());
            Some(Reply::Version(Some(Box::new(v))))
        }
        _ => return None,
    };
    Some(reply)
}

/// Runs seed `seed`; an `Err` says what broke.
pub fn run(seed: u64, p: Params) -> Result<RunOutcome, String> {
    let mut rng = sim::rng(seed);
    let owners: Vec<SecretKey> = (0..p.clients)
        .map(|_| SecretKey::generate(&mut rng))
        .collect();
    // Object o: its owner (a client index) and name.
    let objects: Vec<(usize, Vec<u8>)> = (0..p.objects)
        .map(|o| {
            let owner = if p.shared_owner { 0 } else { o % p.clients };
            (owner, format!("object-{o}").into_bytes())
        })
        .collect();
    let ids: Vec<Hash> = objects
        .iter()
        .map(|(o, name)| keyed_id(&owners[*o].public(), name))
        .collect();
    let mut testers: Vec<LinearizabilityTester<usize, Register<Option<u64>>>> = (0..p.objects)
        .map(|_| LinearizabilityTester::new(Register(None)))
        .collect();
    let mut stores = vec![MemStore::default(); N];
    let mut first: BTreeMap<Hash, Version> = BTreeMap::new();
    let mut net = Network::new(p.net.clone());
    let mut sched: Scheduler<Ev> = Scheduler::default();
    let mut clients: Vec<Client> = (0..p.clients)
        .map(|_| Client {
            left: p.ops,
            op: 0,
            running: None,
            crashes: false,
        })
        .collect();
    for c in 0..p.clients {
        sched.at(rng.gen_range(0..50), Ev::Start { client: c });
    }
    if p.partitions {
        let r = rng.gen_range(0..N);
        let at = rng.gen_range(0..p.net.gst_ms);
        sched.at(at, Ev::Isolate { replica: r });
        sched.at(rng.gen_range(at..=p.net.gst_ms), Ev::Heal);
    }
    let contents: Vec<Vec<u8>> = (0..CONTENT_OBJECTS)
        .map(|k| content_bytes(seed, k))
        .collect();
    // When each content object's first put completed: a get invoked later must find it.
    let mut content_stored: BTreeMap<usize, u64> = BTreeMap::new();
    let mut content_reads = 0usize;
    let mut epoch_flip = false;
    let deadline = p.net.gst_ms + 30_000;
    let (mut done, mut with_value, mut next_value, mut crashed) = (0usize, 0usize, 1u64, 0usize);
    // Network nodes: replicas 0..N, clients N..
    let send = |net: &Network,
                rng: &mut Rng,
                sched: &mut Scheduler<Ev>,
                client: usize,
                op: u64,
                acts: Vec<Action>|
     -> Option<overlay::dbqs::client::Outcome> {
        let mut out = None;
        for a in acts {
            match a {
                Action::Send { to, req } => {
                    for d in net.deliveries(rng, sched.now(), N + client, to) {
                        sched.at(
                            d,
                            Ev::ToReplica {
                                to,
                                client,
                                op,
                                req: req.clone(),
                            },
                        );
                    }
                }
                Action::Done(o) => out = Some(o),
            }
        }
        out
    };
    while let Some(ev) = sched.pop() {
        let now = sched.now();
        if now > deadline {
            let left: Vec<usize> = clients.iter().map(|c| c.left).collect();
            return Err(format!(
                "liveness: operations left per client {left:?} {} ms after GST",
                now - p.net.gst_ms
            ));
        }
        let finished: Option<(usize, overlay::dbqs::client::Outcome)> = match ev {
            Ev::Start { client } => {
                let c = &mut clients[client];
                if c.left == 0 {
                    continue;
                }
                c.op += 1;
                let op = c.op;
                if rng.gen_bool(0.35) {
                    let k = rng.gen_range(0..CONTENT_OBJECTS);
                    let (running, acts) = if rng.gen_bool(0.5) {
                        let bytes = contents[k].clone();
                        let proof = fixture::proof(&owners[0], content_id(&bytes));
                        let (m, acts) = PutContent::start(Group::of(N), bytes, proof);
                        (Running::Put(m, k), acts)
                    } else {
                        let first = rng.gen_range(0..N);
                        let (m, acts) =
                            GetContent::start(Group::of(N), content_id(&contents[k]), first);
                        (Running::Get(m, k, sched.now()), acts)
                    };
                    clients[client].running = Some((usize::MAX, running));
                    sched.at(300, Ev::Timer { client, op });
                    send(&net, &mut rng, &mut sched, client, op, acts).map(|x| (client, x))
                } else {
                    let o = rng.gen_range(0..p.objects);
                    let (owner, name) = &objects[o];
                    let may_write = p.shared_owner || *owner == client;
                    let (running, acts) = if may_write && rng.gen_bool(0.55) {
                        let delete = rng.gen_bool(0.1);
                        clients[client].crashes = p.crashes && rng.gen_bool(0.3);
                        let value = next_value;
                        next_value += 1;
                        let (w, acts) = Write::start(
                            Group::of(N),
                            SecretKey::from_seed(&owners[*owner].seed()),
                            name.clone(),
                            (!delete).then(|| value.to_be_bytes().to_vec()),
                            op as usize % N,
                        );
                        testers[o]
                            .on_invoke(client, RegisterOp::Write((!delete).then_some(value)))
                            .map_err(|e| format!("tester: {e}"))?;
                        (Running::Write(Box::new(w)), acts)
                    } else {
                        let (r, acts) = Read::start(Group::of(N), ids[o], op as usize % N);
                        testers[o]
                            .on_invoke(client, RegisterOp::Read)
                            .map_err(|e| format!("tester: {e}"))?;
                        (Running::Read(r), acts)
                    };
                    clients[client].running = Some((o, running));
                    sched.at(300, Ev::Timer { client, op });
                    send(&net, &mut rng, &mut sched, client, op, acts).map(|x| (client, x))
                }
            }
            Ev::ToReplica {
                to,
                client,
                op,
                req,
            } => {
                let liar = p.liar.filter(|(l, _)| *l == to).map(|(_, b)| b);
                let told = liar
                    .and_then(|l| lie(l, &stores[to], &mut first, &mut epoch_flip, Epoch(0), &req));
                let reply = match told {
                    Some(r) => r,
                    None => Some(replica::handle(&mut stores[to], req)),
                };
                if let Some(reply) = reply {
                    let slow = if liar == Some(Liar::Slow) {
                        rng.gen_range(100..600)
                    } else {
                        0
                    };
                    for d in net.deliveries(&mut rng, sched.now(), to, N + client) {
                        sched.at(
                            d + slow,
                            Ev::ToClient {
                                client,
                                op,
                                from: to,
                                reply: reply.clone(),
                            },
                        );
                    }
                }
                None
            }
            Ev::ToClient {
                client,
                op,
                from,
                reply,
            } => {
                let c = &mut clients[client];
                if c.op != op {
                    continue;
                }
                let Some((_, running)) = c.running.as_mut() else {
                    continue;
                };
                let mut acts = match running {
                    Running::Write(w) => w.on_reply(from, reply),
                    Running::Read(r) => r.on_reply(from, reply),
                    Running::Put(m, _) => m.on_reply(from, reply),
                    Running::Get(m, _, _) => m.on_reply(from, reply),
                };
                let storing = acts.iter().any(|a| {
                    matches!(
                        a,
                        Action::Send {
                            req: Request::Write { .. },
                            ..
                        }
                    )
                });
                if c.crashes && storing && matches!(running, Running::Write(_)) {
                    // The writer dies with its version at one replica: the write stays in
                    // flight forever, and readers must not see it come and go.
                    acts.truncate(1);
                    c.running = None;
                    c.left = 0;
                    c.op += 1;
                    crashed += 1;
                }
                send(&net, &mut rng, &mut sched, client, op, acts).map(|x| (client, x))
            }
            Ev::Timer { client, op } => {
                let c = &mut clients[client];
                if c.op != op {
                    continue;
                }
                let Some((_, running)) = c.running.as_mut() else {
                    continue;
                };
                let acts = match running {
                    Running::Write(w) => w.on_timer(),
                    Running::Read(r) => r.on_timer(),
                    Running::Put(m, _) => m.on_timer(),
                    Running::Get(m, _, _) => m.on_timer(),
                };
                sched.at(300, Ev::Timer { client, op });
                send(&net, &mut rng, &mut sched, client, op, acts).map(|x| (client, x))
            }
            Ev::Isolate { replica } => {
                net.isolate(replica, 0..N + p.clients);
                None
            }
            Ev::Heal => {
                net.heal();
                None
            }
        };
        let Some((client, outcome)) = finished else {
            continue;
        };
        let Some((o, running)) = clients[client].running.take() else {
            continue;
        };
        let keyed = match (&outcome, &running) {
            (Outcome::ContentStored(id), Running::Put(_, k)) => {
                if *id != content_id(&contents[*k]) {
                    return Err(format!("content put {k} acknowledged under another id"));
                }
                content_stored.entry(*k).or_insert(sched.now());
                false
            }
            (Outcome::Content(got), Running::Get(_, k, invoked)) => {
                match got {
                    Some(bytes) if *bytes != contents[*k] => {
                        return Err(format!("content get {k} returned other bytes"));
                    }
                    Some(_) => content_reads += 1,
                    None if content_stored.get(k).is_some_and(|t| t < invoked) => {
                        return Err(format!(
                            "content get {k} found nothing though a put of it completed before"
                        ));
                    }
                    None => {}
                }
                false
            }
            _ => true,
        };
        if keyed {
            let ret = match (outcome, running) {
                (Outcome::Written(_), Running::Write(_)) => RegisterRet::WriteOk,
                (Outcome::Read(v), Running::Read(_)) => {
                    let value = register_value(v.as_deref())?;
                    with_value += usize::from(value.is_some());
                    RegisterRet::ReadOk(value)
                }
                (other, _) => {
                    return Err(format!("client {client}: operation ended with {other:?}"));
                }
            };
            testers[o]
                .on_return(client, ret)
                .map_err(|e| format!("tester: {e}"))?;
            if !testers[o].is_consistent() {
                return Err(format!(
                    "object {o}: the history is not linearizable: {:?}",
                    testers[o]
                ));
            }
        }
        done += 1;
        let c = &mut clients[client];
        c.left -= 1;
        if c.left > 0 {
            sched.at(rng.gen_range(0..30), Ev::Start { client });
        }
        if clients.iter().all(|c| c.left == 0) {
            break;
        }
    }
    // Every client finished (or crashed mid-write).
    if clients.iter().all(|c| c.left == 0) {
        return Ok(RunOutcome {
            ops: done,
            reads_with_value: with_value,
            crashed_writers: crashed,
            content_reads,
            sim_ms: sched.now(),
        });
    }
    Err("the event queue ran dry".into())
}
