//! The fault campaign (issue 8): a real cluster, each node a `rampart` process in a network
//! namespace of its own, under steady client load while a scheduler kills and restarts
//! replicas and the MS primary, partitions a node, isolates an MS replica, slows a link and
//! drops packets on it, restarts a joining node in the middle of its state transfer and fills
//! a node's disk, one after another and overlapping. Then every fault is undone, the live
//! nodes must agree on the epoch, every register is read back, and the whole history must
//! pass stateright's linearizability tester with no acknowledged write lost.
//!
//! The short campaign runs in CI (`tests/tests/fault_campaign.rs`); `campaign --minutes N`
//! draws faults at random for as long as asked.

pub mod check;
pub mod faults;
pub mod load;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rampart::byzantine::Behaviour;
use rampart::client::{Client, ClientOptions};
use rand::Rng as _;
use rand::SeedableRng;

use crate::cluster::Cluster;
use crate::netns::Net;
use crate::wait_for;
use faults::{Fault, Log, SmallDisk};
use load::{Load, Register};

/// How a campaign runs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Nodes at genesis (one more joins during the campaign).
    pub nodes: usize,
    /// Random faults for this long after the scripted ones; zero for the scripted ones only.
    pub random_for: Duration,
    /// Seed of the random part and the readers.
    pub seed: u64,
    /// Names of the namespaces begin with it (a few letters).
    pub tag: String,
    /// The subnet 10.a.b.0/24.
    pub subnet: (u8, u8),
    /// One node lies throughout, in every way listed (`rampart node start --byzantine`):
    /// f = 1 liar per group. Empty: every node is correct.
    pub liar: Vec<Behaviour>,
}

impl Plan {
    /// The CI campaign: 7 nodes, the scripted faults only, and a liar that equivocates as
    /// an MS replica, acknowledges writes it drops and serves older versions as a store
    /// replica, and as an old replica in a transfer lists lower versions and objects it made
    /// up, answering everything late.
    pub fn short() -> Plan {
        Plan {
            nodes: 7,
            random_for: Duration::ZERO,
            seed: 1,
            tag: "rfc".into(),
            subnet: (77, 7),
            liar: vec![
                Behaviour::Equivocate,
                Behaviour::Rollback,
                Behaviour::Invent,
                Behaviour::Slow,
            ],
        }
    }
}

/// What a campaign did and found.
#[derive(Debug)]
pub struct Report {
    /// Faults injected (repairs not counted).
    pub faults: u64,
    /// The schedule as it ran.
    pub log: Vec<(f64, String)>,
    /// Client operations.
    pub counts: load::Counts,
    /// The checker's verdict.
    pub verdict: check::Verdict,
    /// The epoch every live node agreed on at the end.
    pub epoch: u64,
    /// Why operations failed, by message.
    pub errors: Vec<(String, u64)>,
    /// Of those, the ones none of the campaign's faults explain, by message.
    pub unexplained: Vec<(String, u64)>,
    /// The lying node, how it lies, and whether it is still a member at the end.
    pub liar: Option<(usize, Vec<Behaviour>, bool)>,
    /// Whether the liar was an MS replica when the campaign began.
    pub liar_in_ms: bool,
    /// Proofs of misbehaviour correct nodes reported to the MS (from their logs).
    pub proofs: u64,
    /// The per-replica audit after the transfers and deletions, before any final read.
    pub audit: Audit,
    /// Clients the system revoked (every client of the campaign is honest).
    pub revoked: Vec<String>,
    /// Correct nodes that left the membership (none is removed on purpose).
    pub evicted: Vec<String>,
}

/// What the per-replica audit found.
#[derive(Debug, Default)]
pub struct Audit {
    /// (register, correct replica) pairs looked at.
    pub checked: usize,
    /// Correct replicas of a register's group behind its last acknowledged write.
    pub behind: Vec<String>,
}

impl Report {
    /// Every promise the campaign saw broken.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.verdict.lost > 0 {
            out.push(format!("{} acknowledged writes lost", self.verdict.lost));
        }
        if self.counts.undecodable > 0 {
            out.push(format!(
                "{} reads returned a value that does not decode",
                self.counts.undecodable
            ));
        }
        if !self.unexplained.is_empty() {
            out.push(format!(
                "client errors no fault explains: {:?}",
                self.unexplained
            ));
        }
        if !self.audit.behind.is_empty() {
            out.push(format!(
                "correct replicas behind the last acknowledged write: {:?}",
                self.audit.behind
            ));
        }
        if !self.revoked.is_empty() {
            out.push(format!("honest clients revoked: {:?}", self.revoked));
        }
        if !self.evicted.is_empty() {
            out.push(format!("correct nodes evicted: {:?}", self.evicted));
        }
        out
    }
}

/// Writers, registers per writer, readers.
const WRITERS: usize = 3;
const REGISTERS_PER_WRITER: usize = 2;
const READERS: usize = 2;
/// Objects stored before the campaign, so that a joining node has something to fetch.
const PRELOAD: usize = 200;

fn client_of(file: &std::path::Path) -> Result<ClientOptions, String> {
    let mut o = ClientOptions::from_client_file(file).map_err(|e| e.to_string())?;
    // An operation stuck behind a fault counts as unknown after this long.
    o.timeout = Duration::from_secs(8);
    Ok(o)
}

/// Runs a campaign.
pub fn run(plan: &Plan) -> Result<Report, String> {
    if let Some(why) = crate::netns::unavailable() {
        return Err(why);
    }
    let net = Net::create(&plan.tag, plan.nodes + 1, plan.subnet)?;
    let addrs = (0..plan.nodes)
        .map(|i| format!("/ip4/{}/tcp/7700", net.hosts[i].ip))
        .collect();
    let prefixes = (0..plan.nodes).map(|i| net.prefix(i)).collect();
    let mut c = Cluster::genesis_at(addrs, prefixes);
    c.node_config = "[ms]\nepoch_interval_ms = 2000\nprobe_interval_ms = 1000\nprobe_misses = 25\n[transfer]\nrate_mib_s = 1\n".into();
    let full = plan.nodes - 1;
    // The liar is an MS replica at genesis when one is free, so that its PBFT lies count.
    let liar = (0..full)
        .rev()
        .find(|i| holds_share(&c.nodes[*i].dir.join("node.bundle")))
        .unwrap_or(plan.nodes - 2);
    if !plan.liar.is_empty() {
        let lies: Vec<String> = plan
            .liar
            .iter()
            .map(|b| format!("{b:?}").to_lowercase())
            .collect();
        c.nodes[liar].extra = vec!["--byzantine".into(), lies.join(",")];
    }
    let lying = (!plan.liar.is_empty()).then_some(liar);
    let disk = SmallDisk::mount(&c.nodes[full].dir.join("data"), 384)?;
    c.client("analyst", "analyze", "1d");
    c.analyst = Some(c.root.path().join("clients/analyst.cred"));
    c.start_all();
    c.wait_meshed(Duration::from_secs(120));

    let liar_in_ms = lying.is_some() && {
        let id = c.status(liar)?["node"].clone();
        c.status(0)?["members"]
            .as_array()
            .is_some_and(|m| m.iter().any(|x| x["node"] == id && x["ms"] == true))
    };
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let load = Arc::new(Load::new());
    let mut regs: Vec<Register> = Vec::new();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let file = c.client(&format!("writer{w}"), "put,get", "1d");
        let client = rt
            .block_on(Client::connect(client_of(&file)?))
            .map_err(|e| format!("writer{w}: {e}"))?;
        let mine: Vec<(usize, String)> = (0..REGISTERS_PER_WRITER)
            .map(|k| {
                let name = format!("reg{k}");
                regs.push(Register {
                    owner: client.owner(),
                    name: name.clone(),
                });
                (regs.len() - 1, name)
            })
            .collect();
        writers.push((client, mine));
    }
    let reader_file = c.client("reader", "get", "1d");
    let filler_file = c.client("filler", "put,get", "1d");
    let filler = rt
        .block_on(Client::connect(client_of(&filler_file)?))
        .map_err(|e| format!("filler: {e}"))?;
    rt.block_on(async {
        let blob = vec![7u8; 16 * 1024];
        for i in 0..PRELOAD {
            filler
                .put(format!("pre{i}").as_bytes(), &blob)
                .await
                .map_err(|e| format!("preload: {e}"))?;
        }
        Ok::<(), String>(())
    })?;

    let mut readers = Vec::new();
    for r in 0..READERS {
        let client = rt
            .block_on(Client::connect(client_of(&reader_file)?))
            .map_err(|e| format!("reader{r}: {e}"))?;
        readers.push(client);
    }
    // The client library's futures are not Send (progress callbacks), so the workers run
    // together on a thread of their own; the clients' network tasks stay on `rt`.
    let since = Instant::now();
    let workers = {
        let load = load.clone();
        let regs = regs.clone();
        let seed = plan.seed;
        std::thread::spawn(move || {
            let local = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let mut all: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>> = Vec::new();
            for (w, (client, mine)) in writers.into_iter().enumerate() {
                all.push(Box::pin(load.clone().writer(
                    client,
                    mine,
                    w,
                    Duration::from_millis(50),
                )));
            }
            for (r, client) in readers.into_iter().enumerate() {
                all.push(Box::pin(load.clone().reader(
                    client,
                    regs.clone(),
                    100 + r,
                    seed * 31 + r as u64,
                    Duration::from_millis(30),
                )));
            }
            local.block_on(futures::future::join_all(all));
            Ok::<(), String>(())
        })
    };

    let mut log = Log::default();
    let result = schedule(plan, lying, &mut c, &net, &disk, &mut log, since);
    load.stop.store(true, Ordering::Relaxed);
    workers
        .join()
        .map_err(|_| "the load thread panicked".to_string())??;
    result?;

    // Undo everything, restart what is down, and let the system settle.
    for i in 0..c.nodes.len() {
        net.heal(i)?;
        if c.nodes[i].proc.is_none() {
            c.start(i);
        }
    }
    disk.free();
    let skip = lying;
    let mut epoch = settle(&c, skip)?;
    let live = (0..c.nodes.len()).find(|i| Some(*i) != skip).unwrap_or(0);
    // An equivocation is seen only while the MS orders something, so its proof may come
    // with the last epoch change and the eviction after it: give that epoch time to close.
    if let Some(l) = lying
        && plan.liar.contains(&Behaviour::Equivocate)
        && liar_in_ms
        && wait_gone(&c, live, l, Duration::from_secs(90))?
    {
        epoch = settle(&c, skip)?;
    }
    transfers_done(&c, skip)?;
    let liar_report = match lying {
        Some(l) => {
            let s = c.status(live)?;
            let id = c.status(l).map(|x| x["node"].clone()).ok();
            let member = s["members"]
                .as_array()
                .is_some_and(|m| m.iter().any(|x| Some(&x["node"]) == id.as_ref()));
            Some((l, plan.liar.clone(), member))
        }
        None => None,
    };
    let history = load.history.lock().map_err(|_| "history lock")?.clone();
    let last_acked = last_acknowledged(&history, regs.len());
    let audit = audit(&c, live, &regs, &last_acked, skip)?;
    let (revoked, evicted) = departures(&c, live, skip)?;
    // Counted in the logs, which survive restarts (a node's events do not).
    let proofs = c
        .nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != skip)
        .map(|(_, n)| {
            n.log()
                .matches("reporting the proof to the membership service")
                .count() as u64
        })
        .sum();
    let finals = rt.block_on(async {
        let reader = Client::connect(client_of(&reader_file)?)
            .await
            .map_err(|e| format!("final reader: {e}"))?;
        let mut out = Vec::new();
        for r in &regs {
            let v = reader
                .get_of(&r.owner, r.name.as_bytes())
                .await
                .map_err(|e| format!("final read of {}: {e}", r.name))?;
            out.push(load::decode(v).map_err(|e| format!("final read of {}: {e}", r.name))?);
        }
        Ok::<_, String>(out)
    })?;
    let mut history = history;
    history.sort_by_key(|(t, ..)| *t);
    let verdict = check::check(&history, regs.len(), &finals, &last_acked)?;
    let counts = *load.counts.lock().map_err(|_| "counts lock")?;
    let errors = load
        .errors
        .lock()
        .map_err(|_| "errors lock")?
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    let unexplained = load
        .unexplained
        .lock()
        .map_err(|_| "errors lock")?
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    Ok(Report {
        faults: log.injected,
        log: log.entries,
        counts,
        verdict,
        epoch,
        errors,
        liar: liar_report,
        liar_in_ms,
        proofs,
        audit,
        revoked,
        evicted,
        unexplained,
    })
}

/// Waits up to `limit` for node `gone` to leave the membership node `live` sees; whether it
/// did.
fn wait_gone(c: &Cluster, live: usize, gone: usize, limit: Duration) -> Result<bool, String> {
    let id = crate::audit::node_id(&c.nodes[gone].dir)?.to_string();
    let deadline = Instant::now() + limit;
    loop {
        let s = c.status(live)?;
        let member = s["members"]
            .as_array()
            .is_some_and(|m| m.iter().any(|x| x["node"].as_str() == Some(id.as_str())));
        if !member {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        // Poll interval of a deadline-bounded wait.
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Waits until no correct live node has a range left to fetch.
fn transfers_done(c: &Cluster, skip: Option<usize>) -> Result<(), String> {
    wait_for(
        "every correct node done with its transfers",
        Duration::from_secs(180),
        || {
            for (i, n) in c.nodes.iter().enumerate() {
                if n.proc.is_none() || Some(i) == skip {
                    continue;
                }
                let t = c.status(i)?["store"]["transfer"].clone();
                if t["pending_ranges"] != 0 || t["waiting"] != false {
                    return Err(format!("node{i} still transferring: {t}"));
                }
            }
            Ok(())
        },
    );
    Ok(())
}

/// Every correct replica of each register's current group, read in its own store: it must
/// hold at least the register's last acknowledged value.
fn audit(
    c: &Cluster,
    live: usize,
    regs: &[Register],
    last: &[Option<u64>],
    skip: Option<usize>,
) -> Result<Audit, String> {
    let config = crate::audit::config_of(c, live)?;
    let ids: Vec<overlay::id::Hash> = regs
        .iter()
        .map(|r| overlay::dbqs::object::keyed_id(&r.owner, r.name.as_bytes()))
        .collect();
    let skip: Vec<usize> = skip.into_iter().collect();
    let held = crate::audit::replicas_hold(c, &config, &ids, &skip)?;
    let mut a = Audit::default();
    for ((r, want), replicas) in regs.iter().zip(last).zip(held) {
        let Some(want) = want else { continue };
        for h in replicas {
            a.checked += 1;
            let value = h.version.as_ref().and_then(crate::audit::inline_value);
            let got = load::decode(value).ok().flatten();
            if got.is_none_or(|g| g < *want) {
                a.behind.push(format!(
                    "{} at node{}: {got:?}, acknowledged {want}",
                    r.name, h.node
                ));
            }
        }
    }
    Ok(a)
}

/// Clients revoked and correct nodes that left, as node `live` saw the epochs go by.
fn departures(
    c: &Cluster,
    live: usize,
    skip: Option<usize>,
) -> Result<(Vec<String>, Vec<String>), String> {
    let s = c.status(live)?;
    let liar = skip
        .map(|l| crate::audit::node_id(&c.nodes[l].dir).map(|id| id.to_string()))
        .transpose()?;
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().map(|x| x.to_string()).collect())
            .unwrap_or_default()
    };
    let mut revoked = strings(&s["revoked"]);
    let mut evicted = Vec::new();
    for e in s["history"].as_array().into_iter().flatten() {
        revoked.extend(strings(&e["revoked"]));
        for left in e["left"].as_array().into_iter().flatten() {
            if left.as_str() != liar.as_deref() {
                evicted.push(format!("{left} in epoch {}", e["epoch"]));
            }
        }
    }
    revoked.sort();
    revoked.dedup();
    Ok((revoked, evicted))
}

/// Whether the genesis bundle at `path` holds an MS key share.
fn holds_share(path: &std::path::Path) -> bool {
    bootstrap::bundle::read(path).is_ok_and(|b| b.share.is_some())
}

/// The last acknowledged write of each register.
fn last_acknowledged(
    history: &[(Instant, usize, usize, load::Step)],
    registers: usize,
) -> Vec<Option<u64>> {
    use stateright::semantics::register::{RegisterOp, RegisterRet};
    let mut open: std::collections::HashMap<(usize, usize), u64> = Default::default();
    let mut last = vec![None; registers];
    for (_, reg, thread, step) in history {
        match step {
            load::Step::Invoke(RegisterOp::Write(Some(v))) => {
                open.insert((*reg, *thread), *v);
            }
            load::Step::Return(RegisterRet::WriteOk) => {
                if let Some(v) = open.remove(&(*reg, *thread)) {
                    last[*reg] = Some(v.max(last[*reg].unwrap_or(0)));
                }
            }
            _ => {}
        }
    }
    last
}

/// Waits until every live node but `skip` (the liar) is in the same epoch with the same
/// configuration; returns it.
fn settle(c: &Cluster, skip: Option<usize>) -> Result<u64, String> {
    Ok(wait_for(
        "every live node in one epoch after the campaign",
        Duration::from_secs(180),
        || {
            let mut seen: Option<(serde_json::Value, serde_json::Value)> = None;
            for (i, n) in c.nodes.iter().enumerate() {
                if n.proc.is_none() || Some(i) == skip {
                    continue;
                }
                let s = c.status(i)?;
                let here = (s["epoch"].clone(), s["config_hash"].clone());
                match &seen {
                    None => seen = Some(here),
                    Some(first) if *first != here => {
                        return Err(format!(
                            "node{i} is in epoch {}, another node in {}",
                            here.0, first.0
                        ));
                    }
                    Some(_) => {}
                }
            }
            seen.and_then(|(e, _)| e.as_u64())
                .ok_or_else(|| "no live node".to_string())
        },
    ))
}

/// The roles the scripted faults need: a replica outside the MS group, another one, the MS
/// primary, and an MS replica that is not the primary.
fn roles(c: &Cluster, avoid: &[usize]) -> Result<(usize, usize, usize, usize), String> {
    let s = c.status(0)?;
    let ids: Vec<String> = (0..c.nodes.len())
        .map(|i| {
            c.status(i)
                .map(|s| s["node"].as_str().unwrap_or("").to_string())
        })
        .collect::<Result<_, _>>()?;
    let ms: Vec<usize> = s["members"]
        .as_array()
        .ok_or("no members")?
        .iter()
        .filter(|m| m["ms"] == true)
        .filter_map(|m| ids.iter().position(|id| m["node"] == id.as_str()))
        .collect();
    let primary_id = ms
        .iter()
        .find_map(|i| {
            c.status(*i).ok()?["pbft"]["primary"]
                .as_str()
                .map(String::from)
        })
        .ok_or("no MS replica reports a primary")?;
    let primary = ids
        .iter()
        .position(|id| *id == primary_id)
        .ok_or("the primary is not a node here")?;
    let plain: Vec<usize> = (0..c.nodes.len())
        .filter(|i| !ms.contains(i) && !avoid.contains(i))
        .collect();
    let other_ms = ms
        .iter()
        .copied()
        .find(|i| *i != primary && !avoid.contains(i))
        .ok_or("no second MS replica")?;
    match plain.as_slice() {
        [a, b, ..] => Ok((*a, *b, primary, other_ms)),
        _ => Err("fewer than two replicas outside the MS group".into()),
    }
}

fn at(since: Instant, secs: u64) {
    let due = since + Duration::from_secs(secs);
    if let Some(left) = due.checked_duration_since(Instant::now()) {
        std::thread::sleep(left);
    }
}

/// The scripted faults, then random ones for `plan.random_for`.
fn schedule(
    plan: &Plan,
    liar: Option<usize>,
    c: &mut Cluster,
    net: &Net,
    disk: &SmallDisk,
    log: &mut Log,
    since: Instant,
) -> Result<(), String> {
    let full = plan.nodes - 1;
    let avoid: Vec<usize> = [Some(full), liar].into_iter().flatten().collect();
    let (a, b, primary, ms) = roles(c, &avoid)?;
    log.note(
        since,
        format!("roles: node{a} and node{b} outside the MS group, node{primary} the MS primary, node{ms} another MS replica, node{full} with a small disk, liar {liar:?} ({:?})", plan.liar),
    );
    let script: [(u64, Fault); 16] = [
        (5, Fault::Kill(a)),
        (12, Fault::Isolate(b)),
        (18, Fault::Restart(a)),
        (26, Fault::Heal(b)),
        (30, Fault::Kill(primary)),
        (42, Fault::Restart(primary)),
        (48, Fault::Isolate(ms)),
        (60, Fault::Heal(ms)),
        (62, Fault::Degrade(a)),
        (68, Fault::JoinAndRestartMidTransfer),
        (86, Fault::Heal(a)),
        (90, Fault::FillDisk(full)),
        (104, Fault::FreeDisk(full)),
        // A node whose disk filled up may have stopped writing for good (rocksdb holds a
        // background error until it reopens); the operator restarts it once space is freed.
        (105, Fault::Kill(full)),
        (107, Fault::Restart(full)),
        (115, Fault::Heal(full)),
    ];
    for (t, f) in script {
        at(since, t);
        faults::inject(f, c, net, Some(disk), log, since)?;
    }
    if plan.random_for.is_zero() {
        at(since, 125);
        return Ok(());
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(plan.seed);
    let end = Instant::now() + plan.random_for;
    let genesis = plan.nodes;
    while Instant::now() < end {
        // One node at a time is faulty, so every group keeps 3f+1 - 1 correct replicas.
        let i = rng.gen_range(0..genesis);
        if Some(i) == liar {
            continue;
        }
        let hold = Duration::from_secs(rng.gen_range(3..15));
        let (fault, repair) = match rng.gen_range(0..4) {
            0 => (Fault::Kill(i), Fault::Restart(i)),
            1 => (Fault::Isolate(i), Fault::Heal(i)),
            2 => (Fault::Degrade(i), Fault::Heal(i)),
            _ if i == full => (Fault::FillDisk(i), Fault::FreeDisk(i)),
            _ => (Fault::Kill(i), Fault::Restart(i)),
        };
        faults::inject(fault, c, net, Some(disk), log, since)?;
        std::thread::sleep(hold);
        faults::inject(repair, c, net, Some(disk), log, since)?;
        if matches!(fault, Fault::FillDisk(_)) {
            faults::inject(Fault::Kill(i), c, net, Some(disk), log, since)?;
            faults::inject(Fault::Restart(i), c, net, Some(disk), log, since)?;
        }
        std::thread::sleep(Duration::from_secs(rng.gen_range(2..8)));
    }
    Ok(())
}
