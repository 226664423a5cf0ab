//! One object of a transfer page: what each old replica said about it, the best verified
//! copy fetched so far, and the rule that says when the object is settled.
//!
//! The rule (argued in `docs/DESIGN-NOTES.md`, "Transfer: when an object is settled"): an
//! object is settled once 2f+1 old replicas are *covered*, each either listing nothing for
//! it (its page reached past the id), caught lying about it, or listing a claim no higher
//! than the best verified copy. Any 2f+1 old replicas include a correct holder of the last
//! completed write, whose claim is never disproved, so the best copy then reaches that write.
//! No timer settles anything: a timer only asks another holder, and a late answer that
//! beats the best copy is always taken.

use std::collections::BTreeSet;

use super::page::Held;
use crate::dbqs::object::{Version, VersionKey};
use crate::dbqs::provenance::Content;

/// What one old replica said about one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Said {
    /// Nothing yet: its page did not reach the object, or did not arrive.
    Unknown,
    /// It listed the object.
    Listed(Held),
    /// Its page reached past the object without listing it.
    Absent,
    /// It listed the object, then answered with nothing, less, or something that does not
    /// verify: a liar's claim, ignored from now on.
    Disproved,
}

/// A verified copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A keyed object's version.
    Version(Box<Version>),
    /// A content object, with who stored it.
    Content(Box<Content>),
}

/// One object being settled.
pub struct Wanted {
    /// Per old replica, what it said.
    pub said: Vec<Said>,
    /// The best verified copy fetched.
    pub best: Option<Found>,
    /// Replicas asked for the object in this round; a round ends when every replica whose
    /// claim is above the best copy was asked, and the next asks them again.
    pub asked: BTreeSet<usize>,
    /// Replicas asked to list just this object (their page did not reach it).
    pub pointed: BTreeSet<usize>,
    /// Whether the object counts against the fetch's window (it is being asked for).
    pub active: bool,
}

impl Wanted {
    /// An object nobody has said anything about yet, in a group of `n`.
    pub fn new(n: usize) -> Wanted {
        Wanted {
            said: vec![Said::Unknown; n],
            best: None,
            asked: BTreeSet::new(),
            pointed: BTreeSet::new(),
            active: false,
        }
    }

    fn best_key(&self) -> Option<VersionKey> {
        match &self.best {
            Some(Found::Version(v)) => Some(v.key()),
            _ => None,
        }
    }

    /// Whether replica `r` can no longer raise what the object settles on.
    fn covered(&self, r: usize) -> bool {
        match self.said[r] {
            Said::Absent | Said::Disproved => true,
            Said::Unknown => false,
            Said::Listed(Held::Keyed(claim)) => self.best_key().is_some_and(|b| b >= claim),
            Said::Listed(Held::Content) => matches!(self.best, Some(Found::Content(_))),
        }
    }

    /// Whether the object is settled with a quorum `q`: a content object as soon as one
    /// verified copy is in hand (its id is its hash and its provenance is checked), a keyed
    /// one once `q` replicas are covered.
    pub fn settled(&self, q: usize) -> bool {
        matches!(self.best, Some(Found::Content(_)))
            || (0..self.said.len()).filter(|r| self.covered(*r)).count() >= q
    }

    /// Whether some old replica listed the object.
    pub fn listed(&self) -> bool {
        self.said.iter().any(|s| matches!(s, Said::Listed(_)))
    }

    /// Replicas whose claim is above the best copy, highest claim first.
    fn candidates(&self) -> Vec<(Held, usize)> {
        let mut c: Vec<(Held, usize)> = (0..self.said.len())
            .filter(|r| !self.covered(*r))
            .filter_map(|r| match self.said[r] {
                Said::Listed(h) => Some((h, r)),
                _ => None,
            })
            .collect();
        c.sort_by_key(|(h, r)| (std::cmp::Reverse(rank(h)), *r));
        c
    }

    /// The next replica to ask, and what it claimed: the best claim not asked in this
    /// round; when all were asked, a new round starts from the best.
    pub fn next_holder(&mut self) -> Option<(Held, usize)> {
        let c = self.candidates();
        let pick = c
            .iter()
            .find(|(_, r)| !self.asked.contains(r))
            .or_else(|| {
                self.asked.clear();
                c.first()
            })
            .copied()?;
        self.asked.insert(pick.1);
        Some(pick)
    }

    /// Replicas that have said nothing and were not yet asked to list the object.
    pub fn unheard(&mut self) -> Vec<usize> {
        let r: Vec<usize> = (0..self.said.len())
            .filter(|r| self.said[*r] == Said::Unknown && !self.pointed.contains(r))
            .collect();
        self.pointed.extend(r.iter().copied());
        r
    }

    /// Keeps `found` if it beats the best copy.
    pub fn offer(&mut self, found: Found) {
        let better = match (&self.best, &found) {
            (None, _) => true,
            (Some(Found::Version(b)), Found::Version(v)) => v.key() > b.key(),
            _ => false,
        };
        if better {
            self.best = Some(found);
        }
    }
}

/// The order claims are asked in: keyed by version (highest first), content after.
pub fn rank(h: &Held) -> (u8, VersionKey) {
    match h {
        Held::Content => (0, VersionKey::NONE),
        Held::Keyed(k) => (1, *k),
    }
}
