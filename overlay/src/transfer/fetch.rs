//! The new replica's side of a transfer of one range from its old group, as a state machine:
//! list a page from the old replicas, fetch what they list (verifying every version and
//! content object, falling back to other holders when one lies), hand what verifies to the
//! host to store, move the cursor, repeat until the range's end.

use std::collections::{BTreeMap, BTreeSet};

use super::page::{Held, ListPage, ListRequest, Listed, PAGE_ENTRIES_MAX, offset};
use super::wanted::{Found, Said, Wanted};
use crate::crypto::PublicKey;
use crate::dbqs::client::Group;
use crate::dbqs::object::Version;
use crate::dbqs::provenance::{Content, check_content, check_version};
use crate::dbqs::replica::{Reply, Request};
use crate::id::Hash;
use crate::ring::{Range, RangeSet};

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
    /// Keep this content object (its hash is its id, its proof verified), then call
    /// [`Fetch::applied`].
    StoreContent(Box<Content>),
    /// Everything up to `cursor` is stored: persist it, report progress.
    Progress(Progress),
    /// The whole range is transferred.
    Done,
}

/// How far a transfer got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Every object up to this one (in ring order from the range's start) is stored.
    pub cursor: Option<Hash>,
    /// Objects stored so far.
    pub objects: u64,
    /// Bytes of values stored so far.
    pub bytes: u64,
}

/// What a fetch refused, since the host last asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refused {
    /// Answers refused: nothing, less than the replica listed, or a copy that does not
    /// verify or carries no proof of a client allowed to store (each a lie, or a copy lost
    /// since it was listed).
    pub answers: u64,
    /// Objects listed by some old replica that 2f+1 hold nothing provable of, so not taken.
    pub unheld: u64,
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
        /// Replicas whose page of this cursor arrived (before or after the decision).
        paged: BTreeSet<usize>,
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
    refused: Refused,
    /// The authority whose credentials prove who stored an object.
    authority: PublicKey,
}

impl Fetch {
    /// Starts (or resumes after `cursor`) the transfer of `range` from an old group `g`,
    /// taking only objects stored by clients `authority` allowed to store.
    pub fn start(
        g: Group,
        range: Range,
        cursor: Option<Hash>,
        limit: u32,
        authority: PublicKey,
    ) -> (Fetch, Vec<Out>) {
        let mut f = Fetch {
            g,
            range,
            cursor,
            limit: limit.clamp(1, PAGE_ENTRIES_MAX as u32),
            step: Step::Done,
            progress: Progress {
                cursor,
                ..Progress::default()
            },
            refused: Refused::default(),
            authority,
        };
        let outs = f.list();
        (f, outs)
    }

    /// What was refused since the last call.
    pub fn take_refused(&mut self) -> Refused {
        std::mem::take(&mut self.refused)
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

    /// How far a page reaches: `None` is the range's end.
    fn reach(&self, page: &ListPage) -> Option<[u8; 32]> {
        match page.complete {
            true => None,
            false => page.entries.last().map(|l| offset(&self.range, &l.id)),
        }
    }

    /// Old replica `from`'s answer to listing request `req`: a page of the current cursor
    /// (taken before and after the page's boundary is decided), or of one object asked for
    /// on its own.
    pub fn on_page(&mut self, from: usize, req: &ListRequest, page: ListPage) -> Vec<Out> {
        if from >= self.g.n {
            return Vec::new();
        }
        if *req != self.request() {
            return self.on_point_page(from, req, page);
        }
        let valid = self.valid(&page);
        let reach = self.reach(&page);
        match &mut self.step {
            Step::Listing { pages, bad, .. } => {
                if pages.contains_key(&from) {
                    return Vec::new();
                }
                match valid {
                    true => pages.insert(from, page),
                    false => {
                        *bad += 1;
                        None
                    }
                };
                self.try_decide(false)
            }
            Step::Fetching { wanted, paged, .. } if valid && !paged.contains(&from) => {
                paged.insert(from);
                for (id, w) in wanted.iter_mut() {
                    hear(w, from, id, &page, reach, &self.range);
                }
                self.settle_and_ask()
            }
            _ => Vec::new(),
        }
    }

    /// A page answering "list just object `id`": it lists the object, or is empty and
    /// complete.
    fn on_point_page(&mut self, from: usize, req: &ListRequest, page: ListPage) -> Vec<Out> {
        let Step::Fetching { wanted, .. } = &mut self.step else {
            return Vec::new();
        };
        let id = req.range.end;
        if req.range != RangeSet::point(&id) || req.after.is_some() {
            return Vec::new();
        }
        let Some(w) = wanted.get_mut(&id) else {
            return Vec::new();
        };
        if w.said[from] != Said::Unknown || !page.complete {
            return Vec::new();
        }
        w.said[from] = match page.entries.as_slice() {
            [] => Said::Absent,
            [l] if l.id == id => Said::Listed(l.held),
            _ => return Vec::new(),
        };
        self.settle_and_ask()
    }

    /// Decides the page once 2f+1 valid pages arrived and either every replica answered or
    /// a timer passed: the boundary is the point 2f+1 pages reach, so every object up to it
    /// is covered by 2f+1 replicas' pages.
    fn try_decide(&mut self, timer: bool) -> Vec<Out> {
        let Step::Listing { pages, bad, waited } = &mut self.step else {
            return Vec::new();
        };
        *waited |= timer;
        let q = self.g.quorum();
        if pages.len() < q || (pages.len() + *bad < self.g.n && !*waited) {
            return Vec::new();
        }
        let pages = std::mem::take(pages);
        let reaches: BTreeMap<usize, Option<[u8; 32]>> =
            pages.iter().map(|(r, p)| (*r, self.reach(p))).collect();
        let mut reach: Vec<Option<[u8; 32]>> = reaches.values().copied().collect();
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
        for l in pages.values().flat_map(|p| &p.entries) {
            let o = offset(&self.range, &l.id);
            if boundary.is_some_and(|b| o > b) {
                continue;
            }
            if last.is_none_or(|(lo, _)| o > lo) {
                last = Some((o, l.id));
            }
            wanted.entry(l.id).or_insert_with(|| Wanted::new(self.g.n));
        }
        for (from, page) in &pages {
            for (id, w) in wanted.iter_mut() {
                hear(w, *from, id, page, reaches[from], &self.range);
            }
        }
        let last = boundary.and(last.map(|(_, id)| id));
        self.step = Step::Fetching {
            boundary,
            last,
            wanted,
            paged: pages.keys().copied().collect(),
            unapplied: 0,
        };
        self.settle_and_ask()
    }

    /// Hands over every settled object, asks for more while the window has room, and moves
    /// on once the page is done.
    fn settle_and_ask(&mut self) -> Vec<Out> {
        let mut outs = self.settle();
        outs.extend(self.fill());
        outs.extend(self.advance());
        outs
    }

    /// Removes the settled objects, handing their best copies to the host.
    fn settle(&mut self) -> Vec<Out> {
        let q = self.g.quorum();
        let Step::Fetching {
            wanted, unapplied, ..
        } = &mut self.step
        else {
            return Vec::new();
        };
        let done: Vec<Hash> = wanted
            .iter()
            .filter(|(_, w)| w.settled(q))
            .map(|(id, _)| *id)
            .collect();
        let mut outs = Vec::new();
        for id in done {
            let Some(w) = wanted.remove(&id) else {
                continue;
            };
            match w.best {
                Some(Found::Version(v)) => {
                    self.progress.bytes += v.value.as_ref().map_or(0, Vec::len) as u64;
                    outs.push(Out::StoreVersion(v));
                }
                Some(Found::Content(c)) => {
                    self.progress.bytes += c.bytes.len() as u64;
                    outs.push(Out::StoreContent(c));
                }
                None => {
                    // Listed, but 2f+1 replicas hold nothing of it that verifies: a liar's
                    // invention or a write that never completed; it is not taken.
                    self.refused.unheld += u64::from(w.listed());
                    continue;
                }
            }
            self.progress.objects += 1;
            *unapplied += 1;
        }
        outs
    }

    /// Starts asking for more wanted objects while the window has room.
    fn fill(&mut self) -> Vec<Out> {
        let Step::Fetching {
            wanted, unapplied, ..
        } = &mut self.step
        else {
            return Vec::new();
        };
        let active = wanted.values().filter(|w| w.active).count();
        let room = WINDOW.saturating_sub(active + *unapplied);
        let mut outs = Vec::new();
        for (id, w) in wanted.iter_mut().filter(|(_, w)| !w.active).take(room) {
            w.active = true;
            outs.extend(ask(id, w));
        }
        outs
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

    /// Old replica `from`'s answer to the request for object `id` (the host knows which
    /// request an answer belongs to). Taken whenever it comes, from any replica that listed
    /// the object, if it beats the best copy so far.
    pub fn on_reply(&mut self, from: usize, id: Hash, reply: Reply) -> Vec<Out> {
        let Step::Fetching { wanted, .. } = &mut self.step else {
            return Vec::new();
        };
        let Some(w) = wanted.get_mut(&id).filter(|_| from < self.g.n) else {
            return Vec::new();
        };
        let Said::Listed(held) = w.said[from] else {
            return Vec::new();
        };
        let found = match (held, reply) {
            // Busy, behind, or no longer holding it completely: ask again later.
            (_, Reply::Refused(_)) => return Vec::new(),
            (Held::Keyed(claim), Reply::Version(Some(v)))
                if v.key() >= claim && check_version(&v, &id, &self.authority).is_ok() =>
            {
                Some(Found::Version(v))
            }
            (Held::Content, Reply::Content(Some(c)))
                if check_content(&c, &id, &self.authority).is_ok() =>
            {
                Some(Found::Content(c))
            }
            _ => None,
        };
        let mut outs = Vec::new();
        match found {
            Some(found) => w.offer(found),
            None => {
                // Nothing, a forgery, or less than it listed.
                w.said[from] = Said::Disproved;
                self.refused.answers += 1;
            }
        }
        if !w.settled(self.g.quorum()) && w.asked.len() < w.said.len() {
            outs.extend(ask(&id, w));
        }
        outs.extend(self.settle_and_ask());
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
    /// answer); while fetching, ask another holder of each object still being settled, and
    /// ask the replicas that said nothing about it to list it.
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
            Step::Fetching { wanted, .. } => {
                let mut outs = Vec::new();
                for (id, w) in wanted.iter_mut().filter(|(_, w)| w.active) {
                    outs.extend(ask(id, w));
                    let req = ListRequest {
                        range: RangeSet::point(id),
                        after: None,
                        limit: 1,
                    };
                    outs.extend(w.unheard().into_iter().map(|to| Out::List { to, req }));
                }
                outs
            }
            Step::Done => Vec::new(),
        }
    }
}

/// Records what replica `from`'s page, reaching `reach`, says about object `id`.
fn hear(
    w: &mut Wanted,
    from: usize,
    id: &Hash,
    page: &ListPage,
    reach: Option<[u8; 32]>,
    range: &Range,
) {
    if w.said[from] != Said::Unknown {
        return;
    }
    if let Some(l) = page.entries.iter().find(|l| l.id == *id) {
        w.said[from] = Said::Listed(l.held);
    } else if reach.is_none_or(|r| offset(range, id) <= r) {
        w.said[from] = Said::Absent;
    }
}

/// Asks the holder of `id`'s best claim not asked in this round.
fn ask(id: &Hash, w: &mut Wanted) -> Option<Out> {
    let (held, to) = w.next_holder()?;
    let req = match held {
        Held::Keyed(_) => Request::Read { id: *id },
        Held::Content => Request::GetContent { id: *id },
    };
    Some(Out::Get { to, req })
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
