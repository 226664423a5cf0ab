//! The client's side of content objects: a put stores the bytes at a quorum (2f+1 replicas
//! acknowledge the id), a get asks one replica at a time and keeps the first answer whose
//! hash is the id, so a liar can only cost one round trip.

use std::collections::{BTreeMap, BTreeSet};

use super::client::{Action, Group, Outcome, forget_passing, send_all, verdict};
use super::object::content_id;
use super::provenance::ContentProof;
use super::replica::{Refusal, Reply, Request};
use crate::id::Hash;

/// Stores a content object at a quorum.
pub struct PutContent {
    g: Group,
    id: Hash,
    req: Request,
    acked: BTreeSet<usize>,
    refused: BTreeMap<usize, Refusal>,
    /// Replicas that answered with something else than this object's acknowledgement.
    bogus: BTreeSet<usize>,
    done: bool,
}

impl PutContent {
    /// Stores `bytes`, which the storing client signed (`proof`, over their id).
    pub fn start(g: Group, bytes: Vec<u8>, proof: ContentProof) -> (PutContent, Vec<Action>) {
        let id = content_id(&bytes);
        let proof = Box::new(proof);
        let req = Request::PutContent { bytes, proof };
        let acts = send_all(g, &req, |_| false);
        let p = PutContent {
            g,
            id,
            req,
            acked: BTreeSet::new(),
            refused: BTreeMap::new(),
            bogus: BTreeSet::new(),
            done: false,
        };
        (p, acts)
    }

    /// The object's id.
    pub fn id(&self) -> Hash {
        self.id
    }

    /// Whether the put finished.
    pub fn is_done(&self) -> bool {
        self.done
    }

    fn answered(&self, r: usize) -> bool {
        self.acked.contains(&r) || self.refused.contains_key(&r) || self.bogus.contains(&r)
    }

    /// A replica's reply.
    pub fn on_reply(&mut self, from: usize, reply: Reply) -> Vec<Action> {
        if self.done || from >= self.g.n || self.refused.contains_key(&from) {
            return Vec::new();
        }
        match reply {
            // One that acknowledged may refuse when asked again (its group moved on).
            Reply::Refused(r) => {
                self.refused.insert(from, r);
            }
            _ if self.answered(from) => return Vec::new(),
            Reply::ContentStored { id } if id == self.id => {
                self.acked.insert(from);
            }
            // An acknowledgement of another id, or an answer to another request: a liar's,
            // not counted and not waited for again.
            _ => {
                self.bogus.insert(from);
            }
        }
        if self.acked.len() >= self.g.quorum() {
            self.done = true;
            return vec![Action::Done(Outcome::ContentStored(self.id))];
        }
        // f+1 that will not store it (lasting refusals, or acknowledgements of something
        // else, which only liars send) leave too few for a quorum.
        let bogus = Refusal::Storage("replicas acknowledged another object".into());
        let lasting = self.refused.values().filter(|r| !r.is_transient());
        let outcome = verdict(lasting.chain(self.bogus.iter().map(|_| &bogus)), self.g.f)
            .or_else(|| verdict(self.refused.values(), self.g.f));
        if let Some(o) = outcome {
            self.done = true;
            return vec![Action::Done(o)];
        }
        Vec::new()
    }

    /// Resends to the replicas that have not answered (or refused for a passing reason), and
    /// to those that acknowledged if one said the group is in another epoch: f+1 of them
    /// must be able to say so, or a put acknowledged by 2f in the old epoch waits forever.
    pub fn on_timer(&mut self) -> Vec<Action> {
        if self.done {
            return Vec::new();
        }
        let moved = self.refused.values().any(Refusal::is_epoch);
        forget_passing(&mut self.refused);
        send_all(self.g, &self.req, |r| {
            self.answered(r) && (!moved || !self.acked.contains(&r))
        })
    }
}

/// Reads a content object from one replica at a time.
pub struct GetContent {
    g: Group,
    id: Hash,
    /// The order replicas are asked in.
    order: Vec<usize>,
    asked: usize,
    /// Replicas that answered without a valid copy.
    missing: BTreeSet<usize>,
    refused: BTreeMap<usize, Refusal>,
    done: bool,
}

impl GetContent {
    /// Reads object `id`, asking replica `first` first (hosts spread reads over replicas).
    pub fn start(g: Group, id: Hash, first: usize) -> (GetContent, Vec<Action>) {
        let order: Vec<usize> = (0..g.n).map(|i| (first + i) % g.n.max(1)).collect();
        let mut c = GetContent {
            g,
            id,
            order,
            asked: 0,
            missing: BTreeSet::new(),
            refused: BTreeMap::new(),
            done: false,
        };
        let acts = c.ask_next();
        (c, acts)
    }

    /// Whether the read finished.
    pub fn is_done(&self) -> bool {
        self.done
    }

    fn ask_next(&mut self) -> Vec<Action> {
        let Some(to) = self.order.get(self.asked).copied() else {
            return Vec::new();
        };
        self.asked += 1;
        vec![Action::Send {
            to,
            req: Request::GetContent { id: self.id },
        }]
    }

    fn answered(&self, r: usize) -> bool {
        self.missing.contains(&r) || self.refused.contains_key(&r)
    }

    /// A replica's reply.
    pub fn on_reply(&mut self, from: usize, reply: Reply) -> Vec<Action> {
        if self.done || from >= self.g.n || self.refused.contains_key(&from) {
            return Vec::new();
        }
        match reply {
            // One that said it lacks the object may refuse when asked again (its group
            // moved on).
            Reply::Refused(r) => {
                self.refused.insert(from, r);
            }
            Reply::Content(Some(c)) if c.id() == self.id => {
                self.done = true;
                return vec![Action::Done(Outcome::Content(Some(c.bytes)))];
            }
            _ if self.answered(from) => return Vec::new(),
            _ => {
                self.missing.insert(from);
            }
        }
        // f+1 lasting refusals end the get, f+1 passing ones ask the host to retry; a mix
        // decides nothing (one liar's lasting refusal beside a correct replica's "another
        // epoch" failed the get before; found by the churn simulation).
        if let Some(o) = verdict(self.refused.values(), self.g.f) {
            self.done = true;
            return vec![Action::Done(o)];
        }
        // A put that completed stored the object at 2f+1 replicas; any 2f+1 replicas share
        // at least one correct one with them, which would have sent it. So once 2f+1 said
        // they lack it (refusals do not count: a correct holder may refuse), no put of it
        // completed before this get began. Waiting for all n would hang on a silent one.
        if self.missing.len() >= self.g.quorum()
            || self.missing.len() + self.refused.len() == self.g.n
        {
            self.done = true;
            return vec![Action::Done(Outcome::Content(None))];
        }
        self.ask_next()
    }

    /// The replica asked last is slow: ask the next one too; once all were asked, ask again
    /// those that have not answered.
    pub fn on_timer(&mut self) -> Vec<Action> {
        if self.done {
            return Vec::new();
        }
        if self.asked < self.order.len() {
            return self.ask_next();
        }
        // If one said the group is in another epoch, those that said they lack the object
        // are asked again: f+1 of them must be able to say so too.
        let moved = self.refused.values().any(Refusal::is_epoch);
        forget_passing(&mut self.refused);
        let req = Request::GetContent { id: self.id };
        send_all(self.g, &req, |r| {
            self.answered(r) && (!moved || !self.missing.contains(&r))
        })
    }
}
