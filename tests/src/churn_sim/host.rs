//! A node as the simulator hosts it: what it does with its mover's outputs (send, store,
//! delete, persist, release or refuse parked requests), how it answers other replicas'
//! transfer questions, and the checks it makes before serving a client (epoch, range, the
//! mover's `admit`), as the node does.

use overlay::dbqs::fixture;
use overlay::dbqs::object::content_id;
use overlay::dbqs::provenance;
use overlay::dbqs::replica::{self, Refusal, Reply, Request};
use overlay::id::{Epoch, NodeId};
use overlay::ring::{Range, RangeSet};
use overlay::transfer::gate;
use overlay::transfer::mover::{self, Admit, FetchId, Item, Note};
use overlay::transfer::page::page_of;
use overlay::transfer::wire::{Answer, Ask};
use rand::Rng as _;

use super::{CLIENT_BASE, Ev, ParkedReq, SLOW_SHARE, World, liar};
use crate::dbqs_sim::{Liar, lie};

impl World {
    /// Does what node `n`'s mover asks.
    pub(super) fn perform(&mut self, n: usize, outs: Vec<mover::Out>) -> Result<(), String> {
        for o in outs {
            if self.trace
                && let mover::Out::Note(note) = &o
            {
                eprintln!(
                    "{} ms: node {n} (knows {:?}): {note:?}",
                    self.sched.now(),
                    self.nodes[n].known
                );
            }
            match o {
                mover::Out::Send { to, fetch, ask } => self.send_ask(n, to, fetch, ask),
                mover::Out::Apply { items, after } => {
                    self.apply(n, items)?;
                    let inc = self.nodes[n].inc;
                    let at = self.rng.gen_range(0..5);
                    self.sched.at(
                        at,
                        Ev::Applied {
                            node: n,
                            inc,
                            after,
                        },
                    );
                }
                mover::Out::Save(s) => self.nodes[n].saved = *s,
                mover::Out::Release(tokens) => {
                    for t in tokens {
                        if let Some(pr) = self.nodes[n].parked.remove(&t) {
                            let reply = self.nodes[n].store(pr.req);
                            self.reply(n, pr.client, pr.op, pr.attempt, reply, 0);
                        }
                    }
                }
                mover::Out::Refuse(tokens) => {
                    for t in tokens {
                        if let Some(pr) = self.nodes[n].parked.remove(&t) {
                            let reply = Reply::Refused(Refusal::Busy);
                            self.reply(n, pr.client, pr.op, pr.attempt, reply, 0);
                        }
                    }
                }
                mover::Out::NeedConfig(epoch) => {
                    let inc = self.nodes[n].inc;
                    let at = self.rng.gen_range(10..400);
                    self.sched.at(
                        at,
                        Ev::Config {
                            node: n,
                            inc,
                            epoch,
                        },
                    );
                }
                mover::Out::Delete(range) => self.delete(n, range)?,
                mover::Out::Note(Note::Started { range, .. }) => {
                    let now = self.sched.now();
                    self.fetching.entry((n, range)).or_insert(now);
                }
                mover::Out::Note(Note::Finished { range, .. }) => {
                    self.stats.ranges_moved += 1;
                    self.audit_fetched(n, range)?;
                }
                mover::Out::Note(_) => {}
            }
        }
        Ok(())
    }

    /// Stores a transferred batch, checking that a correct node is handed only objects a
    /// client stored (with a valid proof), at positions it owns or owned and has not deleted.
    pub(super) fn apply(&mut self, n: usize, items: Vec<Item>) -> Result<(), String> {
        let authority = fixture::authority_key();
        let node = &mut self.nodes[n];
        let dirty = node
            .mover
            .as_ref()
            .map(|m| m.saved().dirty.clone())
            .unwrap_or_default();
        for item in items {
            let (id, req) = match item {
                Item::Version(v) => {
                    let proven = provenance::check_version(&v, &v.id(), &authority);
                    if node.correct() && proven.is_err() {
                        return Err(format!(
                            "node {n} was handed a version no client stored: {proven:?}"
                        ));
                    }
                    (v.id(), Request::Write { version: v })
                }
                Item::Content(c) => {
                    let proven = provenance::check_content(&c, &c.id(), &authority);
                    if node.correct() && proven.is_err() {
                        return Err(format!(
                            "node {n} was handed content no client stored: {proven:?}"
                        ));
                    }
                    let id = c.id();
                    let req = Request::PutContent {
                        bytes: c.bytes,
                        proof: Box::new(c.proof),
                    };
                    (id, req)
                }
            };
            if node.correct() && !dirty.contains(&id) {
                return Err(format!(
                    "node {n} stores transferred object {id:?} where it may hold nothing"
                ));
            }
            if let Reply::Refused(r) = node.store(req) {
                return Err(format!("node {n} refused a transferred object: {r}"));
            }
            self.stats.transferred += 1;
        }
        Ok(())
    }

    pub(super) fn delete(&mut self, n: usize, range: Range) -> Result<(), String> {
        let node = &mut self.nodes[n];
        if node.correct() && RangeSet::of(&range).meets(&node.owned()) {
            return Err(format!("node {n} deletes {range:?}, part of which it owns"));
        }
        node.store.versions.retain(|id, _| !range.contains(id));
        node.store.content.retain(|id, _| !range.contains(id));
        self.stats.deletes += 1;
        Ok(())
    }

    pub(super) fn send_ask(&mut self, n: usize, to: NodeId, fetch: FetchId, ask: Ask) {
        let Some(&t) = self.index.get(&to) else {
            return;
        };
        let (inc, epoch) = (self.nodes[n].inc, self.nodes[n].known.unwrap_or_default());
        let now = self.sched.now();
        for d in self.net.deliveries(&mut self.rng, now, n, t) {
            self.sched.at(
                d,
                Ev::Ask {
                    to: t,
                    from: n,
                    inc,
                    epoch,
                    fetch,
                    ask: ask.clone(),
                },
            );
        }
    }

    /// Node `to` answers node `from`'s transfer question.
    pub(super) fn on_ask(
        &mut self,
        to: usize,
        from: usize,
        inc: u64,
        epoch: Epoch,
        fetch: FetchId,
        ask: Ask,
    ) {
        if !self.nodes[to].up {
            return;
        }
        if self.nodes[to].known.is_none_or(|k| k < epoch) {
            self.catch_up(to, epoch);
        }
        let asker = self.nodes[from].id;
        let node = &mut self.nodes[to];
        let Some((mover, known)) = node.mover.as_ref().zip(node.known) else {
            return;
        };
        // The node's rule (overlay::transfer::gate), on what this node knows.
        let configs = &self.configs;
        let of = |e: Epoch| (e <= known).then(|| &configs[e.0 as usize]);
        let gate = gate::Known {
            current: &configs[known.0 as usize],
            of: &of,
        };
        let honest = match gate::may_ask(&asker, &ask, &gate) {
            Err(why) => Answer::Refused(why),
            Ok(()) => match mover.may_answer(&ask) {
                Err(e) => Answer::Refused(e),
                Ok(()) => match &ask {
                    Ask::List { req, .. } => Answer::Page(page_of(req, liar::listed(&node.store))),
                    Ask::Get { req, .. } => {
                        Answer::Object(replica::handle(&mut node.store, req.clone()))
                    }
                    Ask::Complete { epoch, ranges } => {
                        Answer::Complete(mover.complete(*epoch, ranges))
                    }
                },
            },
        };
        let answer = match node.byzantine {
            Some(b) => {
                let lie = (b.transfer, b.complete);
                liar::answer(lie, &node.store, &node.first, &ask, honest, &mut self.rng)
            }
            None => Some(honest),
        };
        let Some(answer) = answer else {
            return;
        };
        let me = node.id;
        let now = self.sched.now();
        // Late on a share of its answers only: a holder late on every answer is a liveness
        // question (each listing round waits for it), not the one asked here.
        let late = if self.p.slow_holder == Some(to) && self.rng.gen_bool(SLOW_SHARE) {
            self.stats.slow_answers += 1;
            self.rng.gen_range(super::SLOW_ANSWER_MS)
        } else {
            0
        };
        for d in self.net.deliveries(&mut self.rng, now, to, from) {
            self.sched.at(
                d + late,
                Ev::Answer {
                    to: from,
                    inc,
                    from: me,
                    fetch,
                    ask: ask.clone(),
                    answer: answer.clone(),
                },
            );
        }
    }

    /// An answer reaches the node that asked (in the life it asked in).
    pub(super) fn on_answer(
        &mut self,
        to: usize,
        inc: u64,
        from: NodeId,
        fetch: FetchId,
        ask: Ask,
        answer: Answer,
    ) -> Result<(), String> {
        if !self.alive(to, inc) {
            return Ok(());
        }
        let Some(m) = self.mover(to) else {
            return Ok(());
        };
        let outs = match (ask, answer) {
            (Ask::List { req, .. }, Answer::Page(page)) => m.on_page(fetch, &from, &req, page),
            (
                Ask::Get {
                    req: Request::Read { id } | Request::GetContent { id },
                    ..
                },
                Answer::Object(reply),
            ) => m.on_object(fetch, &from, id, reply),
            (Ask::Complete { epoch, ranges }, Answer::Complete(said)) => {
                m.on_complete(&from, epoch, &ranges, &said)
            }
            _ => Vec::new(),
        };
        self.perform(to, outs)
    }

    /// Node `to` gets a client request: the node's checks (epoch, range), then the mover's
    /// `admit`, then the replica logic.
    pub(super) fn on_request(
        &mut self,
        to: usize,
        client: usize,
        op: u64,
        attempt: u32,
        epoch: Epoch,
        req: Request,
    ) -> Result<(), String> {
        let node = &mut self.nodes[to];
        if !node.up {
            return Ok(());
        }
        let mut slow = 0;
        if let Some(l) = node.byzantine.and_then(|b| b.clients) {
            let current = node.known.unwrap_or_default();
            if let Some(told) = lie(
                l,
                &node.store,
                &mut node.first,
                &mut node.flip,
                current,
                &req,
            ) {
                if let Some(reply) = told {
                    self.reply(to, client, op, attempt, reply, 0);
                }
                return Ok(());
            }
            if l == Liar::Slow {
                slow = self.rng.gen_range(100..600);
            }
        }
        let id = match &req {
            Request::Read { id } | Request::GetContent { id } => *id,
            Request::Write { version } => version.id(),
            Request::PutContent { bytes, .. } => content_id(bytes),
        };
        let known = node.known;
        let refusal = match known {
            None => Some(Refusal::ReplicaBehind {
                client: epoch,
                current: Epoch(0),
            }),
            Some(k) if epoch < k => Some(Refusal::StaleEpoch {
                client: epoch,
                current: k,
            }),
            Some(k) if epoch > k => Some(Refusal::ReplicaBehind {
                client: epoch,
                current: k,
            }),
            Some(k)
                if !self.rings[k.0 as usize]
                    .replica_group(&id)
                    .contains(&node.id) =>
            {
                Some(Refusal::NotHeld(id))
            }
            Some(_) => None,
        };
        if let Some(r) = refusal {
            if matches!(r, Refusal::ReplicaBehind { .. }) {
                self.catch_up(to, epoch);
            }
            self.reply(to, client, op, attempt, Reply::Refused(r), slow);
            return Ok(());
        }
        let token = node.next_token;
        node.next_token += 1;
        let Some(m) = node.mover.as_mut() else {
            return Ok(());
        };
        let (admit, outs) = m.admit(&id, token);
        match admit {
            Admit::Serve => {
                let reply = node.store(req);
                self.reply(to, client, op, attempt, reply, slow);
            }
            Admit::Parked => {
                let pr = ParkedReq {
                    client,
                    op,
                    attempt,
                    req,
                };
                node.parked.insert(token, pr);
            }
            Admit::Busy => {
                let reply = Reply::Refused(Refusal::Busy);
                self.reply(to, client, op, attempt, reply, slow);
            }
        }
        self.perform(to, outs)
    }

    pub(super) fn reply(
        &mut self,
        n: usize,
        client: usize,
        op: u64,
        attempt: u32,
        reply: Reply,
        slow: u64,
    ) {
        let from = self.nodes[n].id;
        let now = self.sched.now();
        for d in self
            .net
            .deliveries(&mut self.rng, now, n, CLIENT_BASE + client)
        {
            self.sched.at(
                d + slow,
                Ev::ToClient {
                    client,
                    op,
                    attempt,
                    from,
                    reply: reply.clone(),
                },
            );
        }
    }
}
