//! The new replica's side of a transfer of one range from its old group, as a state machine:
//! list a page from the old replicas, fetch what they list (verifying every version and
//! content object, falling back to other holders when one lies), hand what verifies to the
//! host to store, move the cursor, repeat until the range's end.

use std::collections::{BTreeMap, BTreeSet};

use super::page::{Held, ListPage, ListRequest, Listed, PAGE_ENTRIES_MAX, offset};
use crate::dbqs::client::Group;
use crate::dbqs::object::{Version, content_id};
use crate::dbqs::replica::{Reply, Request};
use crate::id::Hash;
use crate::ring::Range;

/// Objects asked for or fetched but not yet stored, per fetch: with 1 MiB chunks, what one
/// fetch can make a node hold.
pub const WINDOW: usize = 16;

/// What the host must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// Send a listing request to old replica `to`.
    List {
        /// The old replica's index.
        to: usize,
        /// The request.
        req: ListRequest,
    },
    /// Send an object request to old replica `to`.
    Get {
        /// The old replica's index.
        to: usize,
        /// The request (a read or a content read).
        req: Request,
    },
    /// Keep this version (it verified; the host's store keeps it only if higher), then call
    /// [`Fetch::applied`].
    StoreVersion(Box<Version>),
    /// Keep this content object (its hash is its id), then call [`Fetch::applied`].
    StoreContent(Vec<u8>),
    /// Everything up to `cursor` is stored: persist it, report progress.
    Progress(Progress),
    /// The whole range is transferred.
    Done,
}

/// How far a transfer got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Every object up to this one (in ring order from the range's start) is stored.
    pub cursor: Option<Hash>,
    /// Objects stored so far.
    pub objects: u64,
    /// Bytes of values stored so far.
    pub bytes: u64,
}

/// One object being fetched: who listed what, best claim first.
struct Wanted {
    claims: Vec<(Held, usize)>,
}

enum Step {
    Listing {
        pages: BTreeMap<usize, ListPage>,
        bad: usize,
        waited: bool,
    },
    Fetching {
        boundary: Option<[u8; 32]>,
        last: Option<Hash>,
        wanted: BTreeMap<Hash, Wanted>,
        /// Wanted objects asked for now.
        asked: BTreeSet<Hash>,
        /// Objects handed to the host and not yet reported stored.
        unapplied: usize,
    },
    Done,
}

/// A transfer of `range` from an old group.
pub struct Fetch {
    g: Group,
    range: Range,
    cursor: Option<Hash>,
    limit: u32,
    step: Step,
    progress: Progress,
}

impl Fetch {
    /// Starts (or resumes after `cursor`) the transfer of `range` from an old group `g`.
    pub fn start(g: Group, range: Range, cursor: Option<Hash>, limit: u32) -> (Fetch, Vec<Out>) {
        let mut f = Fetch {
            g,
            range,
            cursor,
            limit: limit.clamp(1, PAGE_ENTRIES_MAX as u32),
            step: Step::Done,
            progress: Progress {
                cursor,
                objects: 0,
                bytes: 0,
            },
        };
        let outs = f.list();
        (f, outs)
    }

    /// Whether the range is transferred.
    pub fn is_done(&self) -> bool {
        matches!(self.step, Step::Done)
    }

    fn request(&self) -> ListRequest {
        ListRequest {
            range: self.range,
            after: self.cursor,
            limit: self.limit,
        }
    }

    fn list(&mut self) -> Vec<Out> {
        self.step = Step::Listing {
            pages: BTreeMap::new(),
            bad: 0,
            waited: false,
        };
        let req = self.request();
        (0..self.g.n).map(|to| Out::List { to, req }).collect()
    }

    /// Whether a page keeps the rules: in range, after the cursor, in order, within the
    /// limit, and not empty unless complete (an empty incomplete page would stall us).
    fn valid(&self, page: &ListPage) -> bool {
        let after = self.cursor.map(|c| offset(&self.range, &c));
        let offs: Vec<[u8; 32]> = page
            .entries
            .iter()
            .map(|l| offset(&self.range, &l.id))
            .collect();
        page.entries.len() <= self.limit as usize
            && (page.complete || !page.entries.is_empty())
            && page.entries.iter().all(|l| self.range.contains(&l.id))
            && offs.windows(2).all(|w| w[0] < w[1])
            && offs.first().is_none_or(|o| after.is_none_or(|a| *o > a))
    }

    /// An old replica's page.
    pub fn on_page(&mut self, from: usize, page: ListPage) -> Vec<Out> {
        if from >= self.g.n {
            return Vec::new();
        }
        let valid = self.valid(&page);
        let Step::Listing { pages, bad, .. } = &mut self.step else {
            return Vec::new();
        };
        if pages.contains_key(&from) {
            return Vec::new();
        }
        if valid {
            pages.insert(from, page);
        } else {
            *bad += 1;
        }
        self.try_decide(false)
    }

    /// Decides the page once 2f+1 valid pages arrived and either every replica answered or
    /// a timer passed: the boundary is the point 2f+1 pages reach, so every object up to it
    /// is listed by 2f+1 replicas' pages, one of them a correct holder's.
    fn try_decide(&mut self, timer: bool) -> Vec<Out> {
        let Step::Listing { pages, bad, waited } = &mut self.step else {
            return Vec::new();
        };
        *waited |= timer;
        let q = self.g.quorum();
        if pages.len() < q || (pages.len() + *bad < self.g.n && !*waited) {
            return Vec::new();
        }
        // How far each page reaches; None is the range's end.
        let mut reach: Vec<Option<[u8; 32]>> = pages
            .values()
            .map(|p| {
                if p.complete {
                    None
                } else {
                    p.entries.last().map(|l| offset(&self.range, &l.id))
                }
            })
            .collect();
        // None (the end) sorts above every offset.
        reach.sort_unstable_by(|a, b| match (a, b) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, _) => std::cmp::Ordering::Less,
            (_, None) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => y.cmp(x),
        });
        let boundary = reach[q - 1];
        let mut wanted: BTreeMap<Hash, Wanted> = BTreeMap::new();
        let mut last: Option<([u8; 32], Hash)> = None;
        for (from, page) in pages.iter() {
            for l in &page.entries {
                let o = offset(&self.range, &l.id);
                if boundary.is_some_and(|b| o > b) {
                    continue;
                }
                if last.is_none_or(|(lo, _)| o > lo) {
                    last = Some((o, l.id));
                }
                wanted
                    .entry(l.id)
                    .or_insert_with(|| Wanted { claims: Vec::new() })
                    .claims
                    .push((l.held, *from));
            }
        }
        for w in wanted.values_mut() {
            // Best claim first: keyed by version (highest first), content before keyed.
            w.claims.sort_by_key(|c| std::cmp::Reverse(rank(&c.0)));
        }
        let last = match boundary {
            // The page ends where 2f+1 pages reach: the cursor moves to that object.
            Some(b) => last.filter(|(o, _)| *o <= b).map(|(_, id)| id),
            None => None,
        };
        self.step = Step::Fetching {
            boundary,
            last,
            wanted,
            asked: BTreeSet::new(),
            unapplied: 0,
        };
        let mut outs = self.fill();
        outs.extend(self.advance());
        outs
    }

    /// Asks for more wanted objects while the window has room.
    fn fill(&mut self) -> Vec<Out> {
        let Step::Fetching {
            wanted,
            asked,
            unapplied,
            ..
        } = &mut self.step
        else {
            return Vec::new();
        };
        let room = WINDOW.saturating_sub(asked.len() + *unapplied);
        let next: Vec<Hash> = wanted
            .keys()
            .filter(|id| !asked.contains(id))
            .take(room)
            .copied()
            .collect();
        asked.extend(next.iter().copied());
        next.iter().filter_map(|id| self.ask(id)).collect()
    }

    /// The host stored `n` of the objects handed to it.
    pub fn applied(&mut self, n: usize) -> Vec<Out> {
        if let Step::Fetching { unapplied, .. } = &mut self.step {
            *unapplied = unapplied.saturating_sub(n);
        }
        let mut outs = self.fill();
        outs.extend(self.advance());
        outs
    }

    /// Asks the holder of `id`'s best remaining claim.
    fn ask(&self, id: &Hash) -> Option<Out> {
        let Step::Fetching { wanted, .. } = &self.step else {
            return None;
        };
        let (held, to) = *wanted.get(id)?.claims.first()?;
        let req = match held {
            Held::Keyed(_) => Request::Read { id: *id },
            Held::Content => Request::GetContent { id: *id },
        };
        Some(Out::Get { to, req })
    }

    /// Old replica `from`'s answer to the request for object `id` (the host knows which
    /// request an answer belongs to).
    pub fn on_reply(&mut self, from: usize, id: Hash, reply: Reply) -> Vec<Out> {
        let Step::Fetching {
            wanted,
            asked,
            unapplied,
            ..
        } = &mut self.step
        else {
            return Vec::new();
        };
        if !asked.contains(&id) {
            return Vec::new();
        }
        let Some(w) = wanted.get_mut(&id) else {
            return Vec::new();
        };
        let Some(&(held, holder)) = w.claims.first() else {
            return Vec::new();
        };
        if holder != from {
            return Vec::new();
        }
        let stored = match (held, reply) {
            (Held::Keyed(claim), Reply::Version(Some(v)))
                if v.verify_for(&id).is_ok() && v.key() >= claim =>
            {
                let len = v.value.as_ref().map_or(0, Vec::len) as u64;
                Some((Out::StoreVersion(v), len))
            }
            (Held::Content, Reply::Content(Some(b))) if content_id(&b) == id => {
                let len = b.len() as u64;
                Some((Out::StoreContent(b), len))
            }
            _ => None,
        };
        let mut outs = Vec::new();
        match stored {
            Some((out, len)) => {
                wanted.remove(&id);
                asked.remove(&id);
                *unapplied += 1;
                self.progress.objects += 1;
                self.progress.bytes += len;
                outs.push(out);
            }
            None => {
                // Nothing, a forgery, or less than it listed: try the next claim.
                w.claims.remove(0);
                if w.claims.is_empty() {
                    wanted.remove(&id);
                    asked.remove(&id);
                } else if let Some(o) = self.ask(&id) {
                    outs.push(o);
                }
            }
        }
        outs.extend(self.fill());
        outs.extend(self.advance());
        outs
    }

    /// Once every listed object is settled and stored, the page is done: report progress
    /// and list the next page, or finish.
    fn advance(&mut self) -> Vec<Out> {
        let Step::Fetching {
            boundary,
            last,
            wanted,
            unapplied,
            ..
        } = &self.step
        else {
            return Vec::new();
        };
        if !wanted.is_empty() || *unapplied > 0 {
            return Vec::new();
        }
        if boundary.is_none() {
            self.step = Step::Done;
            self.progress.cursor = None;
            return vec![Out::Progress(self.progress), Out::Done];
        }
        self.cursor = *last;
        self.progress.cursor = self.cursor;
        let mut outs = vec![Out::Progress(self.progress)];
        outs.extend(self.list());
        outs
    }

    /// The timer: while listing, decide with what arrived (or ask again those that did not
    /// answer); while fetching, ask the next holder of each object still missing.
    pub fn on_timer(&mut self) -> Vec<Out> {
        match &mut self.step {
            Step::Listing { pages, .. } => {
                let answered: Vec<usize> = pages.keys().copied().collect();
                let outs = self.try_decide(true);
                if !outs.is_empty() || !matches!(self.step, Step::Listing { .. }) {
                    return outs;
                }
                let req = self.request();
                (0..self.g.n)
                    .filter(|r| !answered.contains(r))
                    .map(|to| Out::List { to, req })
                    .collect()
            }
            Step::Fetching { wanted, asked, .. } => {
                for (id, w) in wanted.iter_mut() {
                    if w.claims.len() > 1 && asked.contains(id) {
                        w.claims.rotate_left(1);
                    }
                }
                let ids: Vec<Hash> = asked.iter().copied().collect();
                ids.iter().filter_map(|id| self.ask(id)).collect()
            }
            Step::Done => Vec::new(),
        }
    }
}

fn rank(h: &Held) -> (u8, crate::dbqs::object::VersionKey) {
    match h {
        Held::Content => (1, crate::dbqs::object::VersionKey::NONE),
        Held::Keyed(k) => (0, *k),
    }
}

impl Listed {
    /// A keyed object's entry.
    pub fn keyed(v: &Version) -> Listed {
        Listed {
            id: v.id(),
            held: Held::Keyed(v.key()),
        }
    }
}
