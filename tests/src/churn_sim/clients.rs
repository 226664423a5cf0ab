//! The clients' side: what they store, and their running operations as the real dBQS client
//! state machines, (re)started against one epoch's replica group.

use overlay::crypto::SecretKey;
use overlay::dbqs::client::{Action, Group, Outcome, Read, Write};
use overlay::dbqs::content::{GetContent, PutContent};
use overlay::dbqs::fixture;
use overlay::dbqs::object::{VersionKey, content_id, keyed_id};
use overlay::dbqs::replica::Reply;
use overlay::id::{Hash, NodeId};
use rand::Rng as _;
use stateright::semantics::ConsistencyTester;
use stateright::semantics::register::{RegisterOp, RegisterRet};

use super::{CLIENT_BASE, CLIENT_TIMER_MS, Ev, GIVE_UPS_MAX, Op, Phase, World};
use crate::dbqs_sim::register_value;

/// Threads of the history are `client + k * THREAD_STRIDE`, a new `k` after each
/// operation given up.
const THREAD_STRIDE: usize = 1 << 16;

/// One operation a client runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Write keyed object `object` (a number, or a tombstone).
    Write {
        /// The object's index.
        object: usize,
        /// The value.
        value: Option<u64>,
    },
    /// Read keyed object `object`.
    Read {
        /// The object's index.
        object: usize,
    },
    /// Store content object `content`.
    Put {
        /// Its index.
        content: usize,
    },
    /// Read content object `content`.
    Get {
        /// Its index.
        content: usize,
    },
}

/// The dBQS state machine an operation runs.
pub(super) enum Machine {
    Write(Box<Write>),
    Read(Read),
    Put(PutContent),
    Get(GetContent),
}

impl Machine {
    /// A replica's reply.
    pub(super) fn on_reply(&mut self, from: usize, reply: Reply) -> Vec<Action> {
        match self {
            Machine::Write(m) => m.on_reply(from, reply),
            Machine::Read(m) => m.on_reply(from, reply),
            Machine::Put(m) => m.on_reply(from, reply),
            Machine::Get(m) => m.on_reply(from, reply),
        }
    }

    /// The resend timer.
    pub(super) fn on_timer(&mut self) -> Vec<Action> {
        match self {
            Machine::Write(m) => m.on_timer(),
            Machine::Read(m) => m.on_timer(),
            Machine::Put(m) => m.on_timer(),
            Machine::Get(m) => m.on_timer(),
        }
    }
}

/// Everything clients store: keyed objects (owner, name, id) and content objects.
pub(super) struct Catalog {
    owners: Vec<SecretKey>,
    objects: Vec<(usize, Vec<u8>, Hash)>,
    /// Content objects' bytes.
    pub(super) contents: Vec<Vec<u8>>,
}

impl Catalog {
    /// `objects` keyed objects owned by `owners` in turn, and content objects `contents`.
    pub(super) fn new(owners: Vec<SecretKey>, objects: usize, contents: Vec<Vec<u8>>) -> Catalog {
        let objects = (0..objects)
            .map(|o| {
                let owner = o % owners.len();
                let name = format!("object-{o}").into_bytes();
                let id = keyed_id(&owners[owner].public(), &name);
                (owner, name, id)
            })
            .collect();
        Catalog {
            owners,
            objects,
            contents,
        }
    }

    /// The number of keyed objects.
    pub(super) fn objects(&self) -> usize {
        self.objects.len()
    }

    /// Keyed object `o`'s owner (an index into the owner keys).
    pub(super) fn owner(&self, o: usize) -> usize {
        self.objects[o].0
    }

    /// The ring position an operation goes to.
    pub(super) fn id(&self, kind: &Kind) -> Hash {
        match kind {
            Kind::Write { object, .. } | Kind::Read { object } => self.objects[*object].2,
            Kind::Put { content } | Kind::Get { content } => content_id(&self.contents[*content]),
        }
    }

    /// Starts `kind` over against group `g` after `old` was refused: a write stores the
    /// version it signed, if it signed one (`Write::restart`); the rest start afresh.
    pub(super) fn restart(
        &self,
        kind: &Kind,
        old: Machine,
        g: Group,
        first: usize,
    ) -> (Machine, Vec<Action>) {
        match old {
            Machine::Write(w) => {
                let (m, acts) = w.restart(g);
                (Machine::Write(Box::new(m)), acts)
            }
            _ => self.start(kind, g, first),
        }
    }

    /// Starts `kind` against group `g`, asking replica `first` first.
    pub(super) fn start(&self, kind: &Kind, g: Group, first: usize) -> (Machine, Vec<Action>) {
        match kind {
            Kind::Write { object, value } => {
                let (owner, name, _) = &self.objects[*object];
                let key = SecretKey::from_seed(&self.owners[*owner].seed());
                let cred = fixture::credential(&key);
                let (m, acts) = Write::start_with(
                    g,
                    key,
                    name.clone(),
                    value.map(|v| v.to_be_bytes().to_vec()),
                    Some(cred),
                    first,
                );
                (Machine::Write(Box::new(m)), acts)
            }
            Kind::Read { object } => {
                let (m, acts) = Read::start(g, self.objects[*object].2, first);
                (Machine::Read(m), acts)
            }
            Kind::Put { content } => {
                let bytes = self.contents[*content].clone();
                let proof = fixture::proof(&self.owners[0], content_id(&bytes));
                let (m, acts) = PutContent::start(g, bytes, proof);
                (Machine::Put(m), acts)
            }
            Kind::Get { content } => {
                let id = content_id(&self.contents[*content]);
                let (m, acts) = GetContent::start(g, id, first);
                (Machine::Get(m), acts)
            }
        }
    }
}

impl World {
    /// Client `c` starts its next operation, if it has one.
    pub(super) fn start_op(&mut self, c: usize) -> Result<(), String> {
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

    pub(super) fn invoke(
        &mut self,
        c: usize,
        o: usize,
        op: RegisterOp<Option<u64>>,
    ) -> Result<(), String> {
        let thread = self.clients[c].thread;
        self.testers[o]
            .on_invoke(thread, op)
            .map(|_| ())
            .map_err(|e| format!("tester: {e}"))
    }

    pub(super) fn draw_op(&mut self, c: usize) -> Kind {
        if let Some(object) = self.clients[c].again.take() {
            let value = self.next_value;
            self.next_value += 1;
            return Kind::Write {
                object,
                value: Some(value),
            };
        }
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
    pub(super) fn launch(
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
        let (mut machine, acts) = match old {
            Some((m, _, _)) => self.catalog.restart(&kind, m, g, first),
            None => self.catalog.start(&kind, g, first),
        };
        if let Machine::Write(w) = &mut machine {
            w.sign_above(self.journal.floor(&w.object()));
        }
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

    pub(super) fn client_acts(&mut self, c: usize, acts: Vec<Action>) -> Result<(), String> {
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

    pub(super) fn current(&mut self, c: usize, seq: u64, attempt: u32) -> Option<&mut Op> {
        self.clients[c]
            .op
            .as_mut()
            .filter(|o| o.seq == seq && o.attempt == attempt)
    }

    pub(super) fn on_reply(
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
        let acts = op.machine.on_reply(i, reply);
        // As the node's client does: a newly signed version goes into the journal before it
        // is sent.
        let signed = match &op.machine {
            Machine::Write(w) => w.signed().map(|v| (w.object(), v.stamp.number)),
            _ => None,
        };
        if let Some((object, number)) = signed {
            self.journal
                .signed(object, number)
                .map_err(|e| format!("journal: {e}"))?;
        }
        self.client_acts(c, acts)
    }

    pub(super) fn on_client_timer(
        &mut self,
        c: usize,
        seq: u64,
        attempt: u32,
    ) -> Result<(), String> {
        let now = self.sched.now();
        let Some(op) = self.current(c, seq, attempt) else {
            return Ok(());
        };
        let invoked = op.invoked_ms;
        if self.p.timeout_ms.is_some_and(|t| now >= invoked + t)
            && self.phase != Phase::Final
            && self.stats.timeouts < GIVE_UPS_MAX
        {
            return self.give_up(c);
        }
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

    /// Client `c` gives its operation up after its timeout, as the node's client does: the
    /// operation stays open in the history, and the client goes on with its next one.
    pub(super) fn give_up(&mut self, c: usize) -> Result<(), String> {
        let Some(op) = self.clients[c].op.take() else {
            return Ok(());
        };
        self.stats.timeouts += 1;
        if self.trace {
            eprintln!("{} ms: client {c} gives {:?} up", self.sched.now(), op.kind);
        }
        let client = &mut self.clients[c];
        client.thread += THREAD_STRIDE;
        if let Kind::Write { object, .. } = op.kind {
            client.again = Some(object);
        }
        let at = self.rng.gen_range(50..400);
        self.sched.at(at, Ev::Start { client: c });
        Ok(())
    }

    pub(super) fn retry(&mut self, c: usize, seq: u64) -> Result<(), String> {
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
    pub(super) fn finish(&mut self, c: usize, outcome: Outcome) -> Result<(), String> {
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

    pub(super) fn check_outcome(
        &mut self,
        c: usize,
        op: &Op,
        outcome: Outcome,
    ) -> Result<(), String> {
        match (op.kind, outcome) {
            (Kind::Write { object, .. }, Outcome::Written(key)) => {
                self.acked[object] = self.acked[object].max(key);
                let now = self.sched.now();
                self.acks[object].push((now, key));
                self.journal.settled(&self.catalog.id(&op.kind), key.number);
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

    pub(super) fn returned(
        &mut self,
        c: usize,
        o: usize,
        ret: RegisterRet<Option<u64>>,
    ) -> Result<(), String> {
        let thread = self.clients[c].thread;
        let t = &mut self.testers[o];
        t.on_return(thread, ret)
            .map_err(|e| format!("tester: {e}"))?;
        if !t.is_consistent() {
            return Err(format!(
                "object {o}: the history is not linearizable: {t:?}"
            ));
        }
        Ok(())
    }
}
