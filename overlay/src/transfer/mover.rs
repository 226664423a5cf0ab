//! A replica's part in reconfiguration, as a state machine the node and the simulator both
//! drive: what it owns in each epoch and what of that it still lacks; the fetches that bring
//! the missing ranges from their old groups (a few at a time, resumable from a saved cursor);
//! fetching one object first when a client asks for it before its range arrived; whether it
//! may answer another replica's transfer request; and when it may delete what it no longer
//! owns.
//!
//! Rules (DESIGN.md §4, DESIGN-NOTES "Reconfiguration"):
//! - A replica that gains range R in epoch e fetches R from R's group in epoch e-1. If it
//!   skipped epochs (or has no record of the previous one) it fetches everything it owns.
//! - An old replica answers for (R, e-1) only once it is past e-1 (so it refuses epoch e-1
//!   writes) and only if it held R completely in e-1 or in a later epoch. A write completed in
//!   e-1 reached 2f+1 of that group; any 2f+1 answers include a correct replica that has it.
//! - Until R has arrived, a request for an object of R first fetches that object the same way.
//! - A replica deletes a range it no longer owns once every current owner of it says it holds
//!   it completely; it then answers for it no more.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::fetch::{Fetch, Out as FetchOut, Progress, Refused};
use super::page::{ListPage, ListRequest};
use super::wire::{Ask, COMPLETE_RANGES_MAX};
use crate::config::Configuration;
use crate::crypto::PublicKey;
use crate::dbqs::client::Group;
use crate::dbqs::object::Version;
use crate::dbqs::provenance::Content;
use crate::dbqs::replica::{Reply, Request};
use crate::id::{Epoch, Hash, NodeId};
use crate::ring::{Range, RangeSet, Ring, RingDiff};

/// A fetch's handle; answers name it.
pub type FetchId = u64;
/// A parked client request's handle, the host's.
pub type Token = u64;
/// The fetch id completeness questions use.
pub const SWEEP: FetchId = 0;
/// Epochs whose holdings are remembered (to answer transfers from that far back).
pub const LOG_EPOCHS: usize = 64;
/// Objects fetched on demand remembered until the epoch changes.
const HAVE_MAX: usize = 100_000;
/// Ticks a parked request waits for its object before it is refused as busy.
const PARK_TICKS: u32 = 30;
/// Ticks a range fetch may go without storing anything before it yields its place to another
/// pending range: one that waits for an old replica that is itself still fetching must not
/// keep the place that replica's own fetch may be waiting behind (a deadlock the churn
/// simulation found with `running_max` fetches all waiting on each other).
const STALL_TICKS: u32 = 5;

/// Pacing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Entries asked per listing page.
    pub page: u32,
    /// Ranges fetched at once.
    pub running_max: usize,
    /// Client requests parked at once waiting for their object.
    pub parked_max: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            page: 256,
            running_max: 4,
            parked_max: 1024,
        }
    }
}

/// What a replica owned in one epoch and, of that, did not hold completely.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochLog {
    /// Owned positions.
    pub owned: RangeSet,
    /// Owned positions whose transfer had not finished (or whose data was deleted since).
    pub incomplete: RangeSet,
}

/// A range still to fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The range.
    pub range: Range,
    /// The epoch whose group it comes from.
    pub source: Epoch,
    /// That group (empty: not known yet).
    pub group: Vec<NodeId>,
    /// The epoch from which it has been owned and missing.
    pub since: Epoch,
    /// The last epoch it was owned in, once lost (it is still fetched: groups that fetch
    /// from this replica's past epochs wait for it); none while owned.
    pub until: Option<Epoch>,
    /// Everything up to this object is stored.
    pub cursor: Option<Hash>,
    /// Objects stored so far.
    pub objects: u64,
    /// Bytes stored so far.
    pub bytes: u64,
}

/// What survives a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    /// The last epoch moved into.
    pub epoch: Option<Epoch>,
    /// Holdings of recent epochs.
    pub log: BTreeMap<Epoch, EpochLog>,
    /// Ranges still to fetch.
    pub pending: Vec<Pending>,
    /// Positions this replica may hold data for (owned now or once, not yet deleted).
    pub dirty: RangeSet,
}

impl Default for Saved {
    fn default() -> Saved {
        Saved {
            epoch: None,
            log: BTreeMap::new(),
            pending: Vec::new(),
            // Data of unknown origin may be on disk: look everywhere once.
            dirty: RangeSet::of(&Range::full()),
        }
    }
}

/// An object to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A verified version (kept only if above what is held).
    Version(Box<Version>),
    /// A content object whose hash is its id, with the proof of who stored it.
    Content(Box<Content>),
}

/// What to tell the mover once a batch of items is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    fetch: FetchId,
    items: usize,
    progress: Option<Progress>,
    done: bool,
}

/// Something worth a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// A range's fetch began (or resumed).
    Started {
        /// The range.
        range: Range,
        /// Its source epoch.
        source: Epoch,
    },
    /// A range arrived whole.
    Finished {
        /// The range.
        range: Range,
        /// Objects stored.
        objects: u64,
        /// Bytes stored.
        bytes: u64,
    },
    /// A range no longer owned was deleted.
    Deleted(Range),
}

/// What the host must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// Ask node `to`; its answer goes back to the mover with `fetch`.
    Send {
        /// The node.
        to: NodeId,
        /// Whose question it is.
        fetch: FetchId,
        /// The question.
        ask: Ask,
    },
    /// Store `items` in order, then call [`Mover::on_applied`] with `after`.
    Apply {
        /// The objects.
        items: Vec<Item>,
        /// Handed back once they are stored.
        after: Applied,
    },
    /// Persist this state (replacing the last one saved).
    Save(Box<Saved>),
    /// Serve these parked requests now: their objects are here.
    Release(Vec<Token>),
    /// Refuse these parked requests as busy (the client retries).
    Refuse(Vec<Token>),
    /// Fetch and verify the configuration of this epoch, then call [`Mover::on_config`].
    NeedConfig(Epoch),
    /// Delete every object in this range.
    Delete(Range),
    /// For the log.
    Note(Note),
}

/// Whether a client request may be served now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Yes.
    Serve,
    /// Later: its object is being fetched; the host keeps the request until released.
    Parked,
    /// Not now: refuse it as busy.
    Busy,
}

enum What {
    Range(Range),
    Object(Hash),
}

struct Running {
    fetch: Fetch,
    group: Vec<NodeId>,
    source: Epoch,
    what: What,
    /// Counts of the pending range when this fetch began.
    base: (u64, u64),
    /// Timer ticks since it last stored something or began.
    idle: u32,
}

struct Parked {
    fetch: FetchId,
    tokens: Vec<Token>,
    ticks: u32,
}

struct SweepRound {
    epoch: Epoch,
    groups: BTreeMap<Range, Vec<NodeId>>,
    yes: BTreeMap<Range, BTreeSet<NodeId>>,
}

/// One replica's reconfiguration state.
pub struct Mover {
    me: NodeId,
    /// The authority whose credentials prove who stored an object.
    authority: PublicKey,
    settings: Settings,
    saved: Saved,
    current: Option<Configuration>,
    waiting: Option<Configuration>,
    /// Configurations of epochs still to walk through.
    known: BTreeMap<Epoch, Configuration>,
    running: BTreeMap<FetchId, Running>,
    next: FetchId,
    parked: BTreeMap<Hash, Parked>,
    have: BTreeSet<Hash>,
    sweep: Option<SweepRound>,
    /// Pending ranges whose fetch yielded its place while stalled: started after the rest.
    yielded: BTreeSet<(Range, Epoch)>,
    /// What fetches refused since this mover started.
    refused: Refused,
}

/// Progress of the transfers, for status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The epoch moved into.
    pub epoch: Option<Epoch>,
    /// Waiting for a past configuration before it can plan.
    pub waiting: bool,
    /// Ranges still to fetch.
    pub pending_ranges: usize,
    /// Ranges being fetched now.
    pub running: usize,
    /// Client requests waiting for their object.
    pub parked: usize,
    /// Objects stored by the pending ranges' fetches.
    pub objects: u64,
    /// Bytes stored by them.
    pub bytes: u64,
    /// Fraction of the pending ranges already walked (0..=1; 1 when nothing is pending).
    pub done: f64,
    /// Fraction of the ring this replica owns.
    pub owned_share: f64,
    /// Fraction of the ring it may still hold data for without owning it.
    pub retained_share: f64,
    /// Answers from old replicas refused since start (nothing, less than listed, or no
    /// valid proof of who stored the object).
    pub refused_answers: u64,
    /// Objects some old replica listed that 2f+1 hold nothing provable of, not taken.
    pub unheld_entries: u64,
}

impl Mover {
    /// A mover resuming from `saved`; call [`Mover::resume`] once the current configuration
    /// is known.
    pub fn new(me: NodeId, authority: PublicKey, settings: Settings, saved: Saved) -> Mover {
        Mover {
            me,
            authority,
            settings,
            saved,
            current: None,
            waiting: None,
            known: BTreeMap::new(),
            running: BTreeMap::new(),
            next: SWEEP + 1,
            parked: BTreeMap::new(),
            have: BTreeSet::new(),
            sweep: None,
            yielded: BTreeSet::new(),
            refused: Refused::default(),
        }
    }

    /// The state to persist.
    pub fn saved(&self) -> &Saved {
        &self.saved
    }

    fn save(&self) -> Out {
        Out::Save(Box::new(self.saved.clone()))
    }

    fn log_now(&self) -> Option<&EpochLog> {
        self.saved.log.get(&self.saved.epoch?)
    }

    /// The node learned configuration `new`; `prev` is the one of the epoch before it if the
    /// host has it. The mover walks every epoch between its last and `new` one at a time (a
    /// replica that skipped an epoch could not say what it held in it, and the groups that
    /// fetch from it would wait for it), asking for the configurations it lacks.
    pub fn on_epoch(&mut self, new: &Configuration, prev: Option<&Configuration>) -> Vec<Out> {
        match self.saved.epoch {
            Some(e) if new.epoch < e => return Vec::new(),
            Some(e) if new.epoch == e => {
                // A restart in the epoch last moved into: carry on with what was saved.
                self.current = Some(new.clone());
                self.waiting = None;
                return self.start_more();
            }
            _ => {}
        }
        if let Some(p) = prev {
            self.learn(p);
        }
        if self.waiting.as_ref().is_none_or(|w| w.epoch < new.epoch) {
            self.waiting = Some(new.clone());
        }
        self.walk()
    }

    /// A verified configuration the mover asked for arrived.
    pub fn on_config(&mut self, cfg: &Configuration) -> Vec<Out> {
        if self.waiting.is_none() {
            return Vec::new();
        }
        self.learn(cfg);
        self.walk()
    }

    fn learn(&mut self, cfg: &Configuration) {
        let useful = self.saved.epoch.is_none_or(|e| cfg.epoch >= e)
            && self.waiting.as_ref().is_none_or(|w| cfg.epoch <= w.epoch);
        if useful {
            self.known.insert(cfg.epoch, cfg.clone());
            while self.known.len() > LOG_EPOCHS + 2 {
                self.known.pop_first();
            }
        }
    }

    /// Moves epoch by epoch towards the configuration waited for.
    fn walk(&mut self) -> Vec<Out> {
        let mut outs = Vec::new();
        while let Some(target) = self.waiting.clone() {
            let from = match self.saved.epoch {
                Some(e) if target.epoch <= e => {
                    self.waiting = None;
                    break;
                }
                // Too far behind to walk: plan from the epoch before the target.
                Some(e) if target.epoch.0 - e.0 > LOG_EPOCHS as u64 => None,
                Some(e) => Some(e),
                None if target.epoch == Epoch(0) => {
                    outs.extend(self.transition(&target, None, true));
                    continue;
                }
                // No past here: everything owned comes from the group before.
                None => None,
            };
            let (prev_e, next_e) = match from {
                Some(e) => (e, e.next()),
                None => (Epoch(target.epoch.0 - 1), target.epoch),
            };
            let prev = self
                .current
                .clone()
                .filter(|c| c.epoch == prev_e)
                .or_else(|| self.known.get(&prev_e).cloned());
            let next = if next_e == target.epoch {
                Some(target.clone())
            } else {
                self.known.get(&next_e).cloned()
            };
            match (prev, next) {
                (Some(p), Some(n)) => {
                    let last = n.epoch == target.epoch;
                    outs.extend(self.transition(&n, Some(&p), last));
                }
                (None, _) => {
                    outs.push(Out::NeedConfig(prev_e));
                    break;
                }
                (_, None) => {
                    outs.push(Out::NeedConfig(next_e));
                    break;
                }
            }
        }
        outs
    }

    /// Moves into `new` from `prev`; `last` when it is the epoch waited for (fetches start
    /// only there).
    fn transition(
        &mut self,
        new: &Configuration,
        prev: Option<&Configuration>,
        last: bool,
    ) -> Vec<Out> {
        if last {
            self.waiting = None;
        }
        let ring = Ring::of(new);
        let owned = RangeSet::of_all(&ring.ranges_of(&self.me));
        let mut pending: Vec<Pending> = Vec::new();
        if let Some(prev) = prev {
            let contiguous = self.saved.epoch == Some(prev.epoch);
            for p in &self.saved.pending {
                if !contiguous {
                    // After a jump nothing says what was held in the epochs skipped: old
                    // fetches go on in the background only for the epochs before.
                    pending.push(Pending {
                        until: p.until.or(self.saved.epoch),
                        ..p.clone()
                    });
                    continue;
                }
                let whole = RangeSet::of(&p.range);
                let keep = whole.intersect(&owned);
                if keep == whole || p.until.is_some() {
                    pending.push(p.clone());
                    continue;
                }
                let until = Some(prev.epoch);
                if keep.is_empty() {
                    pending.push(Pending { until, ..p.clone() });
                    continue;
                }
                let piece = |range: Range, until: Option<Epoch>| Pending {
                    range,
                    until,
                    cursor: None,
                    objects: 0,
                    bytes: 0,
                    ..p.clone()
                };
                pending.extend(keep.ranges().into_iter().map(|r| piece(r, None)));
                pending.extend(
                    whole
                        .minus(&owned)
                        .ranges()
                        .into_iter()
                        .map(|r| piece(r, until)),
                );
            }
            let diff = RingDiff::between(&Ring::of(prev), &ring);
            for arc in &diff.arcs {
                let gained = !contiguous || !arc.old.contains(&self.me);
                if arc.new.contains(&self.me) && gained {
                    pending.push(Pending {
                        range: arc.range,
                        source: prev.epoch,
                        group: arc.old.clone(),
                        since: new.epoch,
                        until: None,
                        cursor: None,
                        objects: 0,
                        bytes: 0,
                    });
                }
            }
        }
        let incomplete = RangeSet::of_all(
            pending
                .iter()
                .filter(|p| p.until.is_none())
                .map(|p| &p.range),
        )
        .intersect(&owned);
        let mut outs = Vec::new();
        // Fetches of ranges that stay pending as they were go on; the rest stop.
        let kept: BTreeSet<(Range, Epoch)> = pending.iter().map(|p| (p.range, p.source)).collect();
        self.running.retain(|_, r| match r.what {
            What::Range(range) => kept.contains(&(range, r.source)),
            What::Object(_) => false,
        });
        let refused: Vec<Token> = std::mem::take(&mut self.parked)
            .into_values()
            .flat_map(|p| p.tokens)
            .collect();
        if !refused.is_empty() {
            outs.push(Out::Refuse(refused));
        }
        self.have.clear();
        self.sweep = None;
        self.saved.pending = pending;
        self.saved.epoch = Some(new.epoch);
        self.saved.dirty = self.saved.dirty.union(&owned);
        self.saved
            .log
            .insert(new.epoch, EpochLog { owned, incomplete });
        while self.saved.log.len() > LOG_EPOCHS {
            self.saved.log.pop_first();
        }
        self.current = Some(new.clone());
        self.known.retain(|e, _| *e >= new.epoch);
        outs.push(self.save());
        if last {
            outs.extend(self.start_more());
        }
        outs
    }

    /// The pending ranges (with their source epochs) being fetched now.
    fn ranges_running(&self) -> BTreeSet<(Range, Epoch)> {
        self.running
            .values()
            .filter_map(|r| match r.what {
                What::Range(range) => Some((range, r.source)),
                What::Object(_) => None,
            })
            .collect()
    }

    /// Starts fetches of pending ranges up to the limit.
    fn start_more(&mut self) -> Vec<Out> {
        let mut outs = Vec::new();
        let busy = self.ranges_running();
        let ranges_running = busy.len();
        // Ranges owned now first, then those kept for the past.
        let mut todo: Vec<Pending> = self
            .saved
            .pending
            .iter()
            .filter(|p| !p.group.is_empty() && !busy.contains(&(p.range, p.source)))
            .cloned()
            .collect();
        // Those that yielded their place go last, in the order they yielded (they were moved
        // to the back of the queue), so every stalled fetch gets its turn.
        todo.sort_by_key(|p| match self.yielded.contains(&(p.range, p.source)) {
            true => (true, false),
            false => (false, p.until.is_some()),
        });
        todo.truncate(self.settings.running_max.saturating_sub(ranges_running));
        for p in todo {
            self.yielded.remove(&(p.range, p.source));
            let (fetch, fo) = Fetch::start(
                Group::of(p.group.len()),
                p.range,
                p.cursor,
                self.settings.page,
                self.authority,
            );
            let id = self.next_id();
            self.running.insert(
                id,
                Running {
                    fetch,
                    group: p.group.clone(),
                    source: p.source,
                    what: What::Range(p.range),
                    base: (p.objects, p.bytes),
                    idle: 0,
                },
            );
            outs.push(Out::Note(Note::Started {
                range: p.range,
                source: p.source,
            }));
            outs.extend(self.translate(id, fo));
        }
        outs
    }

    fn next_id(&mut self) -> FetchId {
        self.next += 1;
        self.next
    }

    /// Turns a fetch's outputs into the host's.
    fn translate(&mut self, id: FetchId, fo: Vec<FetchOut>) -> Vec<Out> {
        let Some(r) = self.running.get_mut(&id) else {
            return Vec::new();
        };
        let refused = r.fetch.take_refused();
        self.refused.answers += refused.answers;
        self.refused.unheld += refused.unheld;
        let Some(r) = self.running.get(&id) else {
            return Vec::new();
        };
        let mut outs = Vec::new();
        let mut items = Vec::new();
        let mut after = Applied {
            fetch: id,
            items: 0,
            progress: None,
            done: false,
        };
        // This replica is in the group it fetches from only when it skipped epochs; it
        // never answers itself, and saying so at once saves waiting for the timer.
        let mut to_self = Vec::new();
        for o in fo {
            match o {
                FetchOut::List { to, req } => {
                    if r.group.get(to) == Some(&self.me) {
                        to_self.push((to, req));
                    } else if let Some(node) = r.group.get(to) {
                        outs.push(Out::Send {
                            to: *node,
                            fetch: id,
                            ask: Ask::List {
                                source: r.source,
                                req,
                            },
                        });
                    }
                }
                FetchOut::Get { to, req } => {
                    if let Some(node) = r.group.get(to).filter(|n| **n != self.me) {
                        outs.push(Out::Send {
                            to: *node,
                            fetch: id,
                            ask: Ask::Get {
                                source: r.source,
                                req,
                            },
                        });
                    }
                }
                FetchOut::StoreVersion(v) => items.push(Item::Version(v)),
                FetchOut::StoreContent(b) => items.push(Item::Content(b)),
                FetchOut::Progress(p) => after.progress = Some(p),
                FetchOut::Done => after.done = true,
            }
        }
        after.items = items.len();
        if !items.is_empty() || after.progress.is_some() || after.done {
            outs.push(Out::Apply { items, after });
        }
        for (i, req) in to_self {
            let silent = ListPage {
                entries: Vec::new(),
                complete: false,
            };
            let more = match self.running.get_mut(&id) {
                Some(r) => r.fetch.on_page(i, &req, silent),
                None => Vec::new(),
            };
            outs.extend(self.translate(id, more));
        }
        outs
    }

    fn index_of(&self, id: FetchId, from: &NodeId) -> Option<usize> {
        self.running.get(&id)?.group.iter().position(|n| n == from)
    }

    /// A listing page from node `from` for fetch `id`, answering `req`.
    pub fn on_page(
        &mut self,
        id: FetchId,
        from: &NodeId,
        req: &ListRequest,
        page: ListPage,
    ) -> Vec<Out> {
        let Some(i) = self.index_of(id, from) else {
            return Vec::new();
        };
        let fo = match self.running.get_mut(&id) {
            Some(r) => r.fetch.on_page(i, req, page),
            None => return Vec::new(),
        };
        self.translate(id, fo)
    }

    /// An object from node `from` for fetch `id`.
    pub fn on_object(
        &mut self,
        id: FetchId,
        from: &NodeId,
        object: Hash,
        reply: Reply,
    ) -> Vec<Out> {
        let Some(i) = self.index_of(id, from) else {
            return Vec::new();
        };
        let fo = match self.running.get_mut(&id) {
            Some(r) => r.fetch.on_reply(i, object, reply),
            None => return Vec::new(),
        };
        self.translate(id, fo)
    }

    /// A batch of items was stored.
    pub fn on_applied(&mut self, after: Applied) -> Vec<Out> {
        let mut outs = Vec::new();
        if after.items > 0 {
            let more = match self.running.get_mut(&after.fetch) {
                Some(r) => r.fetch.applied(after.items),
                None => Vec::new(),
            };
            outs.extend(self.translate(after.fetch, more));
        }
        let Some(r) = self.running.get_mut(&after.fetch) else {
            return outs;
        };
        if after.items > 0 || after.progress.is_some() {
            r.idle = 0;
        }
        match r.what {
            What::Object(object) => {
                if after.done {
                    self.running.remove(&after.fetch);
                    if self.have.len() >= HAVE_MAX {
                        self.have.clear();
                    }
                    self.have.insert(object);
                    if let Some(p) = self.parked.remove(&object) {
                        outs.push(Out::Release(p.tokens));
                    }
                }
            }
            What::Range(range) => {
                let (source, base) = (r.source, r.base);
                let Some(k) = self
                    .saved
                    .pending
                    .iter()
                    .position(|p| p.range == range && p.source == source)
                else {
                    return outs;
                };
                if let Some(pr) = after.progress {
                    let p = &mut self.saved.pending[k];
                    p.cursor = pr.cursor;
                    p.objects = base.0 + pr.objects;
                    p.bytes = base.1 + pr.bytes;
                }
                if after.done {
                    self.running.remove(&after.fetch);
                    let p = self.saved.pending.remove(k);
                    let done = RangeSet::of(&p.range);
                    for (e, log) in self.saved.log.range_mut(p.since..) {
                        if p.until.is_some_and(|u| *e > u) {
                            break;
                        }
                        log.incomplete = log.incomplete.minus(&done);
                    }
                    outs.push(Out::Note(Note::Finished {
                        range: p.range,
                        objects: p.objects,
                        bytes: p.bytes,
                    }));
                    outs.push(self.save());
                    outs.extend(self.start_more());
                } else if after.progress.is_some() {
                    outs.push(self.save());
                }
            }
        }
        outs
    }

    /// Whether a client request for `object` may be served now; `token` names it if parked.
    pub fn admit(&mut self, object: &Hash, token: Token) -> (Admit, Vec<Out>) {
        if let Some(w) = &self.waiting {
            // Planning waits for a past configuration: nothing new is served meanwhile.
            let owned_then = Ring::of(w).replica_group(object).contains(&self.me);
            return (
                if owned_then {
                    Admit::Busy
                } else {
                    Admit::Serve
                },
                Vec::new(),
            );
        }
        let missing = self
            .log_now()
            .is_some_and(|l| l.incomplete.contains(object));
        if !missing || self.have.contains(object) {
            return (Admit::Serve, Vec::new());
        }
        if let Some(p) = self.parked.get_mut(object) {
            if p.tokens.len() >= self.settings.parked_max {
                return (Admit::Busy, Vec::new());
            }
            p.tokens.push(token);
            return (Admit::Parked, Vec::new());
        }
        let parked_now: usize = self.parked.values().map(|p| p.tokens.len()).sum();
        // From the range's current fetch: one kept for the past comes from an older group,
        // which may lack writes completed since, and serving what it gives is a stale read.
        let Some(p) = self
            .saved
            .pending
            .iter()
            .find(|p| p.until.is_none() && RangeSet::of(&p.range).contains(object))
            .filter(|p| !p.group.is_empty())
            .cloned()
        else {
            return (Admit::Busy, Vec::new());
        };
        if parked_now >= self.settings.parked_max {
            return (Admit::Busy, Vec::new());
        }
        let (fetch, fo) = Fetch::start(
            Group::of(p.group.len()),
            RangeSet::point(object),
            None,
            1,
            self.authority,
        );
        let id = self.next_id();
        self.running.insert(
            id,
            Running {
                fetch,
                group: p.group,
                source: p.source,
                what: What::Object(*object),
                base: (0, 0),
                idle: 0,
            },
        );
        self.parked.insert(
            *object,
            Parked {
                fetch: id,
                tokens: vec![token],
                ticks: 0,
            },
        );
        (Admit::Parked, self.translate(id, fo))
    }

    /// The periodic timer (about a second): fetches ask again, long-parked requests give up.
    pub fn on_timer(&mut self) -> Vec<Out> {
        let mut outs = Vec::new();
        let ids: Vec<FetchId> = self.running.keys().copied().collect();
        for id in ids {
            let fo = match self.running.get_mut(&id) {
                Some(r) => r.fetch.on_timer(),
                None => continue,
            };
            outs.extend(self.translate(id, fo));
        }
        let mut expired = Vec::new();
        for (object, p) in self.parked.iter_mut() {
            p.ticks += 1;
            if p.ticks > PARK_TICKS {
                expired.push(*object);
            }
        }
        for object in expired {
            if let Some(p) = self.parked.remove(&object) {
                self.running.remove(&p.fetch);
                outs.push(Out::Refuse(p.tokens));
            }
        }
        outs.extend(self.rotate_stalled());
        outs
    }

    /// Stops range fetches that stored nothing for `STALL_TICKS` while other pending ranges
    /// wait for a place; they go to the back of the queue and resume from their cursor.
    fn rotate_stalled(&mut self) -> Vec<Out> {
        let running = self.ranges_running();
        let waiting = self
            .saved
            .pending
            .iter()
            .any(|p| !running.contains(&(p.range, p.source)));
        let mut stalled = Vec::new();
        for (id, r) in self.running.iter_mut() {
            if let What::Range(range) = r.what {
                r.idle += 1;
                if waiting && r.idle > STALL_TICKS {
                    stalled.push((*id, range, r.source));
                }
            }
        }
        if stalled.is_empty() {
            return Vec::new();
        }
        for (id, range, source) in stalled {
            self.running.remove(&id);
            let k = self
                .saved
                .pending
                .iter()
                .position(|p| p.range == range && p.source == source);
            if let Some(k) = k {
                let p = self.saved.pending.remove(k);
                self.saved.pending.push(p);
            }
            self.yielded.insert((range, source));
        }
        let mut outs = vec![self.save()];
        outs.extend(self.start_more());
        outs
    }

    /// Whether this replica may answer `ask` from another member: past the source epoch, and
    /// holding what is asked completely in it.
    pub fn may_answer(&self, ask: &Ask) -> Result<(), String> {
        let (source, range) = match ask {
            Ask::List { source, req } => (*source, RangeSet::of(&req.range)),
            Ask::Get { source, req } => match req {
                Request::Read { id } | Request::GetContent { id } => {
                    (*source, RangeSet::of(&RangeSet::point(id)))
                }
                _ => return Err("only reads are served to transfers".into()),
            },
            Ask::Complete { .. } => return Ok(()),
        };
        let now = self.saved.epoch.ok_or("no epoch yet")?;
        if now <= source {
            return Err(format!("still in epoch {}, not past {}", now.0, source.0));
        }
        // Held completely in the source epoch, or in a later one: a replica complete in a
        // later epoch fetched everything completed before it began, the source epoch's
        // writes included (this is how a replica that skipped the source epoch serves it).
        let held = self
            .saved
            .log
            .range(source..)
            .any(|(_, log)| range.is_subset(&log.owned) && !range.meets(&log.incomplete));
        if !held {
            return Err(format!(
                "not held completely in epoch {} or since",
                source.0
            ));
        }
        Ok(())
    }

    /// Which of `ranges` this replica holds completely as a replica of `epoch`.
    pub fn complete(&self, epoch: Epoch, ranges: &[Range]) -> Vec<bool> {
        let log = self.saved.log.get(&epoch);
        ranges
            .iter()
            .map(|r| {
                let s = RangeSet::of(r);
                log.is_some_and(|l| s.is_subset(&l.owned) && !s.meets(&l.incomplete))
            })
            .collect()
    }

    /// Starts a round asking the owners of what this replica holds without owning whether
    /// they hold it completely (call every few seconds).
    pub fn sweep(&mut self) -> Vec<Out> {
        let (Some(cfg), None) = (&self.current, &self.waiting) else {
            return Vec::new();
        };
        let Some(log) = self.log_now() else {
            return Vec::new();
        };
        // Stray: held without being owned, or fetched for the past without being owned (a
        // deleted range's fetch for the past stops once every owner holds it).
        let background = RangeSet::of_all(
            self.saved
                .pending
                .iter()
                .filter(|p| p.until.is_some())
                .map(|p| &p.range),
        );
        let stray = self.saved.dirty.union(&background).minus(&log.owned);
        // Positions owned again whose fetch for the past goes on: once every owner holds
        // them nobody fetches them from those past epochs, and the fetch can stop (else it
        // waits forever on old replicas that deleted them).
        let past = RangeSet::of_all(
            self.saved
                .pending
                .iter()
                .filter(|p| p.until.is_some())
                .map(|p| &p.range),
        )
        .intersect(&log.owned);
        if stray.is_empty() && past.is_empty() {
            return Vec::new();
        }
        let epoch = cfg.epoch;
        let ring = Ring::of(cfg);
        let mut groups: BTreeMap<Range, Vec<NodeId>> = BTreeMap::new();
        let mut yes: BTreeMap<Range, BTreeSet<NodeId>> = BTreeMap::new();
        let mut per_owner: BTreeMap<NodeId, Vec<Range>> = BTreeMap::new();
        for (range, group) in ring.arcs() {
            let arc = RangeSet::of(&range);
            let mine = group.contains(&self.me);
            let asked = if mine {
                arc.meets(&past) && self.complete(epoch, &[range]) == [true]
            } else {
                arc.meets(&stray)
            };
            if !asked {
                continue;
            }
            for n in group.iter().filter(|n| **n != self.me) {
                let v = per_owner.entry(*n).or_default();
                if v.len() < COMPLETE_RANGES_MAX {
                    v.push(range);
                }
            }
            if mine {
                yes.insert(range, BTreeSet::from([self.me]));
            }
            groups.insert(range, group);
        }
        if groups.is_empty() {
            if !stray.is_empty() {
                // Stray positions no arc covers cannot exist; forget them.
                self.saved.dirty = log.owned.clone();
                return vec![self.save()];
            }
            return Vec::new();
        }
        self.sweep = Some(SweepRound { epoch, groups, yes });
        per_owner
            .into_iter()
            .map(|(to, ranges)| Out::Send {
                to,
                fetch: SWEEP,
                ask: Ask::Complete { epoch, ranges },
            })
            .collect()
    }

    /// Node `from` answered which of `asked` (in `epoch`) it holds completely.
    pub fn on_complete(
        &mut self,
        from: &NodeId,
        epoch: Epoch,
        asked: &[Range],
        answer: &[bool],
    ) -> Vec<Out> {
        let Some(round) = self.sweep.as_mut().filter(|r| r.epoch == epoch) else {
            return Vec::new();
        };
        if asked.len() != answer.len() {
            return Vec::new();
        }
        let mut gone = Vec::new();
        for (r, yes) in asked.iter().zip(answer) {
            let Some(group) = round.groups.get(r) else {
                continue;
            };
            if !*yes || !group.contains(from) {
                continue;
            }
            let said = round.yes.entry(*r).or_default();
            said.insert(*from);
            if group.iter().all(|n| said.contains(n)) {
                gone.push(*r);
            }
        }
        let mut outs = Vec::new();
        let mut stopped = false;
        for r in gone {
            let group = self
                .sweep
                .as_mut()
                .and_then(|round| round.groups.remove(&r));
            let mine = group.is_some_and(|g| g.contains(&self.me));
            let s = RangeSet::of(&r);
            if !mine {
                self.saved.dirty = self.saved.dirty.minus(&s);
                // Its data is going: never answer for it again.
                for log in self.saved.log.values_mut() {
                    log.incomplete = log.incomplete.union(&s.intersect(&log.owned));
                }
            }
            // Fetches kept for the past stop where nobody needs them any more.
            let mut kept = Vec::new();
            for p in std::mem::take(&mut self.saved.pending) {
                let whole = RangeSet::of(&p.range);
                if p.until.is_none() || !whole.meets(&s) {
                    kept.push(p);
                    continue;
                }
                kept.extend(whole.minus(&s).ranges().into_iter().map(|range| Pending {
                    range,
                    cursor: None,
                    objects: 0,
                    bytes: 0,
                    ..p.clone()
                }));
            }
            self.saved.pending = kept;
            if mine {
                // Owned: the data stays; only the fetch for the past stops.
                stopped = true;
                continue;
            }
            outs.push(Out::Delete(r));
            outs.push(Out::Note(Note::Deleted(r)));
        }
        if !outs.is_empty() || stopped {
            let live: BTreeSet<(Range, Epoch)> = self
                .saved
                .pending
                .iter()
                .map(|p| (p.range, p.source))
                .collect();
            self.running.retain(|_, r| match r.what {
                What::Range(range) => live.contains(&(range, r.source)),
                What::Object(_) => true,
            });
            outs.push(self.save());
            outs.extend(self.start_more());
        }
        outs
    }

    /// Progress for status.
    pub fn report(&self) -> Report {
        let total: f64 = self
            .saved
            .pending
            .iter()
            .map(|p| RangeSet::of(&p.range).share())
            .sum();
        let walked: f64 = self
            .saved
            .pending
            .iter()
            .filter_map(|p| {
                let c = p.cursor?;
                Some(
                    RangeSet::of(&Range {
                        start: p.range.start,
                        end: c,
                    })
                    .intersect(&RangeSet::of(&p.range))
                    .share(),
                )
            })
            .sum();
        let owned = self.log_now().map(|l| l.owned.clone()).unwrap_or_default();
        Report {
            epoch: self.saved.epoch,
            waiting: self.waiting.is_some(),
            pending_ranges: self.saved.pending.len(),
            running: self
                .running
                .values()
                .filter(|r| matches!(r.what, What::Range(_)))
                .count(),
            parked: self.parked.values().map(|p| p.tokens.len()).sum(),
            objects: self.saved.pending.iter().map(|p| p.objects).sum(),
            bytes: self.saved.pending.iter().map(|p| p.bytes).sum(),
            done: if total > 0.0 {
                (walked / total).clamp(0.0, 1.0)
            } else {
                1.0
            },
            owned_share: owned.share(),
            retained_share: self.saved.dirty.minus(&owned).share(),
            refused_answers: self.refused.answers,
            unheld_entries: self.refused.unheld,
        }
    }
}
