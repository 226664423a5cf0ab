//! The client's side of dBQS as state machines: a write or a read of one keyed object against
//! one replica group (replicas `0..n`, tolerating f faults). Replies in, messages out; the host
//! sends them, feeds replies back, and calls `on_timer` to resend to replicas that have not
//! answered. Nothing a replica says is believed unless it verifies: a version counts only if
//! the owner's signature checks, and each phase waits for 2f+1 distinct replicas, so every
//! phase meets every earlier one in at least one correct replica.

use std::collections::{BTreeMap, BTreeSet};

use super::object::{Version, VersionKey};
use super::replica::{Refusal, Reply, Request};
use crate::cert::Certificate;
use crate::crypto::SecretKey;
use crate::id::Hash;

/// What the host must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send `req` to replica `to`.
    Send {
        /// The replica's index in the group.
        to: usize,
        /// The request.
        req: Request,
    },
    /// The operation finished.
    Done(Outcome),
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The write is stored at a quorum as this version.
    Written(VersionKey),
    /// The value read: the highest version at a quorum (a tombstone if deleted), or none if
    /// the object was never written.
    Read(Option<Box<Version>>),
    /// A content object is stored at a quorum under this id.
    ContentStored(Hash),
    /// A content object, verified against its id; none if no replica had it.
    Content(Option<Vec<u8>>),
    /// f+1 replicas refused for lasting reasons (so a correct one did), or f+1 for passing
    /// ones (another epoch, busy: the host retries): the first such reason.
    Refused(Refusal),
}

/// A replica group: `n` replicas, `f` faults tolerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group {
    /// Replicas.
    pub n: usize,
    /// Faults tolerated.
    pub f: usize,
}

impl Group {
    /// The group of `n` replicas tolerating the most faults, (n-1)/3.
    pub fn of(n: usize) -> Group {
        Group { n, f: (n - 1) / 3 }
    }

    /// Replies a phase waits for.
    pub fn quorum(&self) -> usize {
        2 * self.f + 1
    }
}

/// Replies of one phase: one per replica, the first counts.
#[derive(Default)]
struct Phase {
    /// What each replica held (NONE for no version or one that does not verify).
    held: BTreeMap<usize, VersionKey>,
    /// Replicas that refused, and why.
    refused: BTreeMap<usize, Refusal>,
}

impl Phase {
    fn answered_by(&self, r: usize) -> bool {
        self.held.contains_key(&r) || self.refused.contains_key(&r)
    }

    /// Records a refusal. A replica that answered before may refuse later, asked again
    /// because its group moved to another epoch; its refusal then counts towards the f+1
    /// that make the host start over.
    fn refuse(&mut self, from: usize, r: Refusal) {
        self.refused.entry(from).or_insert(r);
    }

    /// Whether the resend timer leaves replica `r` alone: it refused for a lasting reason,
    /// or it answered and no replica said the group is in another epoch. When one did,
    /// those that answered are asked again: otherwise a phase that 2f replicas answered
    /// in the old epoch, with one correct replica moved on and one faulty replica silent,
    /// waits forever (found by the churn simulation).
    fn settled(&self, r: usize, moved: bool) -> bool {
        self.refused.contains_key(&r) || (!moved && self.held.contains_key(&r))
    }

    /// Whether a replica said the group is in another epoch.
    fn moved(&self) -> bool {
        self.refused.values().any(Refusal::is_epoch)
    }

    /// Forgets passing refusals before a resend; returns whether one said the group moved.
    fn forget_passing(&mut self) -> bool {
        let moved = self.moved();
        forget_passing(&mut self.refused);
        moved
    }
}

/// Learns the highest version of `id` from a quorum; shared by reads and writes.
struct Query {
    id: Hash,
    phase: Phase,
    best: Option<Box<Version>>,
}

impl Query {
    fn new(id: Hash) -> Query {
        Query {
            id,
            phase: Phase::default(),
            best: None,
        }
    }

    fn on_reply(&mut self, from: usize, reply: Reply) {
        if let Reply::Refused(r) = reply {
            self.phase.refuse(from, r);
            return;
        }
        if self.phase.answered_by(from) {
            return;
        }
        match reply {
            // A copy equal to the best one so far was verified already: replicas that agree
            // (the common case) cost one verification between them, not one each.
            Reply::Version(Some(v)) if self.best.as_ref().is_some_and(|b| **b == *v) => {
                self.phase.held.insert(from, v.key());
            }
            Reply::Version(Some(v)) if v.verify_for(&self.id).is_ok() => {
                self.phase.held.insert(from, v.key());
                if self.best.as_ref().is_none_or(|b| v.key() > b.key()) {
                    self.best = Some(v);
                }
            }
            // Nothing held, or something that does not verify (a liar's forgery): counts as
            // an answer holding nothing.
            Reply::Version(_) => {
                self.phase.held.insert(from, VersionKey::NONE);
            }
            _ => {}
        }
    }

    fn best_key(&self) -> VersionKey {
        self.best.as_ref().map_or(VersionKey::NONE, |b| b.key())
    }
}

/// Acknowledgements that a quorum holds at least `key`.
struct Store {
    key: VersionKey,
    phase: Phase,
}

impl Store {
    fn acks(&self) -> usize {
        self.phase.held.values().filter(|k| **k >= self.key).count()
    }

    fn on_reply(&mut self, from: usize, reply: Reply) {
        if let Reply::Refused(r) = reply {
            self.phase.refuse(from, r);
            return;
        }
        if self.phase.answered_by(from) {
            return;
        }
        if let Reply::Stored { held } = reply {
            self.phase.held.insert(from, held);
        }
    }
}

fn refused(phase: &Phase, g: Group) -> Option<Outcome> {
    verdict(phase.refused.values(), g.f)
}

/// Whether refusals end an attempt. f+1 giving a lasting reason means a correct replica did,
/// so the operation fails with it; f+1 giving a passing one (another epoch, busy) means the
/// host should retry. Fewer decide nothing: they may be liars, and the timer asks again
/// those whose refusal was passing.
pub(super) fn verdict<'a>(
    refusals: impl Iterator<Item = &'a Refusal>,
    f: usize,
) -> Option<Outcome> {
    let (passing, lasting): (Vec<&Refusal>, Vec<&Refusal>) =
        refusals.partition(|r| r.is_transient());
    if lasting.len() > f {
        return Some(Outcome::Refused(lasting[0].clone()));
    }
    (passing.len() > f).then(|| Outcome::Refused(passing[0].clone()))
}

/// Forgets passing refusals so that the next resend asks those replicas again.
pub(super) fn forget_passing(refused: &mut BTreeMap<usize, Refusal>) {
    refused.retain(|_, r| !r.is_transient());
}

/// The first phase of an operation asks 2f+1 replicas, `first` and the ones after it round
/// the group, not all n: a quorum is all it needs, and the rest would answer for nothing but
/// load. The resend timer asks every replica that has not answered, so a silent or slow one
/// among the 2f+1 only costs the host's fallback delay (`Read::on_timer`, `Write::on_timer`).
pub(super) fn send_quorum(g: Group, req: &Request, first: usize) -> Vec<Action> {
    let asked = |r: usize| (r + g.n - first % g.n) % g.n < g.quorum();
    send_all(g, req, |r| !asked(r))
}

pub(super) fn send_all(g: Group, req: &Request, skip: impl Fn(usize) -> bool) -> Vec<Action> {
    (0..g.n)
        .filter(|r| !skip(*r))
        .map(|to| Action::Send {
            to,
            req: req.clone(),
        })
        .collect()
}

enum WriteStep {
    Query(Query),
    Store(Store, Request),
    Done,
}

/// A write of a keyed object: learn the highest version from a quorum, sign the next one,
/// store it at a quorum.
pub struct Write {
    g: Group,
    owner: SecretKey,
    name: Vec<u8>,
    value: Option<Vec<u8>>,
    credential: Option<Certificate>,
    /// The version once signed: a restart stores it again rather than signing another.
    signed: Option<Box<Version>>,
    /// The version number is signed above this (the client's journal: numbers it signed
    /// before and never saw complete).
    floor: u64,
    /// The first replica the query asks (see [`send_quorum`]).
    first: usize,
    step: WriteStep,
}

impl Write {
    /// Writes `value` (or deletes, with `None`) to `name` under `owner`.
    pub fn start(
        g: Group,
        owner: SecretKey,
        name: Vec<u8>,
        value: Option<Vec<u8>>,
        first: usize,
    ) -> (Write, Vec<Action>) {
        Write::start_with(g, owner, name, value, None, first)
    }

    /// As [`Write::start`], attaching the owner's certificate to the version (replicas on
    /// nodes require it).
    pub fn start_with(
        g: Group,
        owner: SecretKey,
        name: Vec<u8>,
        value: Option<Vec<u8>>,
        credential: Option<Certificate>,
        first: usize,
    ) -> (Write, Vec<Action>) {
        let id = super::object::keyed_id(&owner.public(), &name);
        let acts = send_quorum(g, &Request::Read { id }, first);
        let w = Write {
            g,
            owner,
            name,
            value,
            credential,
            signed: None,
            floor: 0,
            first,
            step: WriteStep::Query(Query::new(id)),
        };
        (w, acts)
    }

    /// Signs the version above `floor` whatever the query finds: numbers this client signed
    /// before may sit at replicas the query did not hear from (see [`super::journal`]).
    pub fn sign_above(&mut self, floor: u64) {
        self.floor = self.floor.max(floor);
    }

    /// The object written.
    pub fn object(&self) -> Hash {
        super::object::keyed_id(&self.owner.public(), &self.name)
    }

    /// The version signed, once the query is done: the host records its number in the
    /// client's journal before sending it.
    pub fn signed(&self) -> Option<&Version> {
        self.signed.as_deref()
    }

    /// Starts this write over against group `g`, another epoch's (once f+1 replicas refused
    /// it for a passing reason). A version already signed is stored as it is, never signed
    /// again under a new number: it may be at some replicas already, and a reader that saw
    /// it and then a later write must not see this value come back above that write (found
    /// by the churn simulation). A write that signed nothing starts from its query.
    pub fn restart(self, g: Group) -> (Write, Vec<Action>) {
        let Some(version) = self.signed else {
            let (mut w, acts) = Write::start_with(
                g,
                self.owner,
                self.name,
                self.value,
                self.credential,
                self.first,
            );
            w.floor = self.floor;
            return (w, acts);
        };
        let store = Store {
            key: version.key(),
            phase: Phase::default(),
        };
        let req = Request::Write {
            version: version.clone(),
        };
        let acts = send_all(g, &req, |_| false);
        let w = Write {
            g,
            owner: self.owner,
            name: self.name,
            value: None,
            credential: None,
            signed: Some(version),
            floor: self.floor,
            first: self.first,
            step: WriteStep::Store(store, req),
        };
        (w, acts)
    }

    /// Whether the write finished.
    pub fn is_done(&self) -> bool {
        matches!(self.step, WriteStep::Done)
    }

    /// A replica's reply.
    pub fn on_reply(&mut self, from: usize, reply: Reply) -> Vec<Action> {
        if from >= self.g.n {
            return Vec::new();
        }
        match &mut self.step {
            WriteStep::Query(q) => {
                q.on_reply(from, reply);
                if let Some(o) = refused(&q.phase, self.g) {
                    self.step = WriteStep::Done;
                    return vec![Action::Done(o)];
                }
                if q.phase.held.len() < self.g.quorum() {
                    return Vec::new();
                }
                let next = q.best_key().number.max(self.floor).saturating_add(1);
                let mut version = Version::sign(&self.owner, &self.name, next, self.value.take());
                version.credential = self.credential.take().map(Box::new);
                let version = Box::new(version);
                self.signed = Some(version.clone());
                let store = Store {
                    key: version.key(),
                    phase: Phase::default(),
                };
                let req = Request::Write { version };
                let acts = send_all(self.g, &req, |_| false);
                self.step = WriteStep::Store(store, req);
                acts
            }
            WriteStep::Store(s, _) => {
                s.on_reply(from, reply);
                if let Some(o) = refused(&s.phase, self.g) {
                    self.step = WriteStep::Done;
                    return vec![Action::Done(o)];
                }
                if s.acks() < self.g.quorum() {
                    return Vec::new();
                }
                let key = s.key;
                self.step = WriteStep::Done;
                vec![Action::Done(Outcome::Written(key))]
            }
            WriteStep::Done => Vec::new(),
        }
    }

    /// Resends the current phase's request to the replicas that have not answered it (or
    /// refused for a passing reason), and to those that answered if one said the group is
    /// in another epoch.
    pub fn on_timer(&mut self) -> Vec<Action> {
        match &mut self.step {
            WriteStep::Query(q) => {
                let moved = q.phase.forget_passing();
                send_all(self.g, &Request::Read { id: q.id }, |r| {
                    q.phase.settled(r, moved)
                })
            }
            WriteStep::Store(s, req) => {
                let moved = s.phase.forget_passing();
                send_all(self.g, req, |r| s.phase.settled(r, moved))
            }
            WriteStep::Done => Vec::new(),
        }
    }
}

enum ReadStep {
    Query(Query),
    WriteBack(Store, Request, Box<Version>),
    Done,
}

/// A read of a keyed object: the highest validly signed version from a quorum, written back
/// to a quorum first if fewer than 2f+1 replicas hold it, so no later read returns less.
pub struct Read {
    g: Group,
    step: ReadStep,
}

impl Read {
    /// Reads object `id`, asking 2f+1 replicas from `first` on (see [`send_quorum`]).
    pub fn start(g: Group, id: Hash, first: usize) -> (Read, Vec<Action>) {
        let acts = send_quorum(g, &Request::Read { id }, first);
        let r = Read {
            g,
            step: ReadStep::Query(Query::new(id)),
        };
        (r, acts)
    }

    /// Whether the read finished.
    pub fn is_done(&self) -> bool {
        matches!(self.step, ReadStep::Done)
    }

    /// A replica's reply.
    pub fn on_reply(&mut self, from: usize, reply: Reply) -> Vec<Action> {
        if from >= self.g.n {
            return Vec::new();
        }
        match &mut self.step {
            ReadStep::Query(q) => {
                q.on_reply(from, reply);
                if let Some(o) = refused(&q.phase, self.g) {
                    self.step = ReadStep::Done;
                    return vec![Action::Done(o)];
                }
                if q.phase.held.len() < self.g.quorum() {
                    return Vec::new();
                }
                let Some(best) = q.best.clone() else {
                    self.step = ReadStep::Done;
                    return vec![Action::Done(Outcome::Read(None))];
                };
                let store = Store {
                    key: best.key(),
                    phase: Phase {
                        held: q.phase.held.clone(),
                        refused: BTreeMap::new(),
                    },
                };
                if store.acks() >= self.g.quorum() {
                    self.step = ReadStep::Done;
                    return vec![Action::Done(Outcome::Read(Some(best)))];
                }
                // Write back to those that lag (and to those that did not answer).
                let behind: BTreeSet<usize> = (0..self.g.n)
                    .filter(|r| store.phase.held.get(r).is_none_or(|k| *k < best.key()))
                    .collect();
                let mut store = store;
                store.phase.held.retain(|r, _| !behind.contains(r));
                let req = Request::Write {
                    version: best.clone(),
                };
                let acts = send_all(self.g, &req, |r| !behind.contains(&r));
                self.step = ReadStep::WriteBack(store, req, best);
                acts
            }
            ReadStep::WriteBack(s, _, best) => {
                s.on_reply(from, reply);
                if let Some(o) = refused(&s.phase, self.g) {
                    self.step = ReadStep::Done;
                    return vec![Action::Done(o)];
                }
                if s.acks() < self.g.quorum() {
                    return Vec::new();
                }
                let best = best.clone();
                self.step = ReadStep::Done;
                vec![Action::Done(Outcome::Read(Some(best)))]
            }
            ReadStep::Done => Vec::new(),
        }
    }

    /// Resends the current phase's request to the replicas that have not answered it (or
    /// refused for a passing reason), and to those that answered if one said the group is
    /// in another epoch.
    pub fn on_timer(&mut self) -> Vec<Action> {
        match &mut self.step {
            ReadStep::Query(q) => {
                let moved = q.phase.forget_passing();
                send_all(self.g, &Request::Read { id: q.id }, |r| {
                    q.phase.settled(r, moved)
                })
            }
            ReadStep::WriteBack(s, req, _) => {
                let moved = s.phase.forget_passing();
                send_all(self.g, req, |r| s.phase.settled(r, moved))
            }
            ReadStep::Done => Vec::new(),
        }
    }
}
