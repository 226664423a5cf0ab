//! How a run ends: once the churn stops, waiting for every transfer to finish, the final
//! reads, waiting for the sweeps, the checks on what correct nodes hold, and the reports that
//! say why a run did not get there (which fetch waits for which old replica, and why).

use overlay::dbqs::object::VersionKey;
use overlay::id::NodeId;
use overlay::ring::{Range, RangeSet};
use overlay::transfer::mover::{self, Mover};
use overlay::transfer::wire::Ask;

use super::{Ev, Kind, Phase, SETTLE_MS_MAX, SWEEP_WAIT_MS_MAX, TAIL_MS, World};

impl World {
    /// The periodic look at the whole world: moves through the phases, and ends the run.
    pub(super) fn check(&mut self) -> Result<bool, String> {
        self.sched.at(500, Ev::Check);
        let now = self.sched.now();
        let waited = now - self.phase_since;
        let busy = self.clients.iter().any(|c| c.op.is_some());
        match self.phase {
            Phase::Churn => {}
            Phase::Drain => {
                if waited >= TAIL_MS && !busy {
                    self.enter(Phase::Settle);
                } else if waited > SETTLE_MS_MAX {
                    return Err(format!("liveness: operations unfinished: {}", self.stuck()));
                }
            }
            Phase::Settle => match self.unsettled() {
                None => {
                    self.audit()?;
                    self.stats.fetches_kept_for_liar = self
                        .nodes
                        .iter()
                        .filter(|x| x.correct() && !x.dead)
                        .filter_map(|x| x.mover.as_ref())
                        .flat_map(|m| m.saved().pending.iter())
                        .filter(|p| self.kept_for_liar(p))
                        .count();
                    self.begin_finals();
                }
                Some(why) if waited > SETTLE_MS_MAX => {
                    return Err(format!(
                        "liveness: transfers unfinished after the churn: {why}"
                    ));
                }
                Some(_) => {}
            },
            Phase::Final => {
                if waited > SETTLE_MS_MAX {
                    return Err(format!(
                        "liveness: final reads unfinished: {}",
                        self.stuck()
                    ));
                }
                if !busy && self.clients.iter().all(|c| c.finals.is_empty()) {
                    self.enter(Phase::Sweep);
                }
            }
            Phase::Sweep => match self.strays() {
                Ok(kept) => {
                    self.stats.kept_for_liar = kept;
                    return Ok(true);
                }
                Err(why) if waited > SWEEP_WAIT_MS_MAX => {
                    return Err(format!("after the sweeps: {why}"));
                }
                Err(_) => {}
            },
        }
        Ok(false)
    }

    /// Every correct replica's own store, before the final reads write anything back: in the
    /// newest group of each keyed object, the correct replicas holding at least its highest
    /// acknowledged version and the faulty members together make 2f+1. (A quorum read would
    /// hide a replica rolled back by a transfer: its write-back repairs what it reads.)
    pub(super) fn audit(&self) -> Result<(), String> {
        let e = self.latest();
        let ring = &self.rings[e.0 as usize];
        let f = self.configs[e.0 as usize].f as usize;
        for (object, want) in self.acked.iter().enumerate() {
            if *want == VersionKey::NONE {
                continue;
            }
            let id = self.catalog.id(&Kind::Read { object });
            let group = ring.replica_group(&id);
            let mut holding = 0;
            let mut short = Vec::new();
            for member in &group {
                let Some(n) = self.nodes.iter().position(|x| x.id == *member) else {
                    continue;
                };
                let node = &self.nodes[n];
                let held = node.store.versions.get(&id).map(|v| v.key());
                if !node.correct() || held.is_some_and(|k| k >= *want) {
                    holding += 1;
                } else {
                    short.push((n, held));
                }
            }
            if holding < 2 * f + 1 {
                return Err(format!(
                    "object {object}: in epoch {} only {holding} of its group hold the acknowledged {want:?} (or lie); correct replicas short of it: {short:?}",
                    e.0
                ));
            }
        }
        Ok(())
    }

    /// Node `n`'s fetch of `range` finished: if the node is correct and still owns the range,
    /// its own store holds, for every keyed object there, at least the highest version
    /// acknowledged before the fetch began, and every content object stored by then. (The
    /// 2f+1 count of [`World::audit`] could miss one new replica settling on an older
    /// version; this looks at each one.)
    pub(super) fn audit_fetched(&mut self, n: usize, range: Range) -> Result<(), String> {
        let Some(began) = self.fetching.remove(&(n, range)) else {
            return Ok(());
        };
        let node = &self.nodes[n];
        if !node.correct() || !RangeSet::of(&range).is_subset(&node.owned()) {
            return Ok(());
        }
        for (object, acks) in self.acks.iter().enumerate() {
            let id = self.catalog.id(&Kind::Read { object });
            if !range.contains(&id) {
                continue;
            }
            let want = acks
                .iter()
                .filter(|(t, _)| *t < began)
                .map(|(_, k)| *k)
                .max()
                .unwrap_or(VersionKey::NONE);
            let held = node
                .store
                .versions
                .get(&id)
                .map_or(VersionKey::NONE, |v| v.key());
            if held < want {
                return Err(format!(
                    "node {n} finished fetching {range:?} (begun at {began} ms) holding {held:?} of object {object}, below {want:?} acknowledged before it began"
                ));
            }
            self.stats.fetch_audits += 1;
        }
        for (&content, &at) in &self.stored {
            let id = self.catalog.id(&Kind::Get { content });
            if at < began && range.contains(&id) && !node.store.content.contains_key(&id) {
                return Err(format!(
                    "node {n} finished fetching {range:?} (begun at {began} ms) without content {content}, stored at {at} ms"
                ));
            }
        }
        Ok(())
    }

    /// The operations still running, and the state of their groups.
    pub(super) fn stuck(&self) -> String {
        let mut out = Vec::new();
        for (c, client) in self.clients.iter().enumerate() {
            let Some(op) = &client.op else { continue };
            let id = self.catalog.id(&op.kind);
            let group: Vec<String> = op
                .group
                .iter()
                .map(|g| {
                    let n = self.index[g];
                    let x = &self.nodes[n];
                    let r = x.mover.as_ref().map(Mover::report);
                    format!(
                        "node {n} (up {}, byzantine {}, knows {:?}, waiting {:?}, pending {:?}, incomplete here {:?}) {}",
                        x.up,
                        x.byzantine.is_some(),
                        x.known,
                        r.as_ref().map(|r| r.waiting),
                        r.as_ref().map(|r| r.pending_ranges),
                        x.saved
                            .epoch
                            .and_then(|e| x.saved.log.get(&e))
                            .map(|l| l.incomplete.contains(&id)),
                        if x.mover.is_some() {
                            self.why_stalled(n, &RangeSet::point(&id), 4)
                        } else {
                            String::new()
                        },
                    )
                })
                .collect();
            out.push(format!(
                "client {c}: {:?} attempt {} in {:?}, group [{}]",
                op.kind,
                op.attempt,
                op.epoch,
                group.join(", ")
            ));
        }
        out.join("; ")
    }

    /// Follows a stalled fetch down to what it waits for: members of its source group that
    /// cannot answer, and for each, whether it still fetches the range (and from whom) or
    /// gave it up incomplete.
    pub(super) fn why_stalled(&self, n: usize, range: &Range, depth: usize) -> String {
        let Some(m) = &self.nodes[n].mover else {
            return format!("node {n} is down");
        };
        let whole = RangeSet::of(range);
        let Some(p) = m
            .saved()
            .pending
            .iter()
            .find(|p| RangeSet::of(&p.range).meets(&whole))
        else {
            let x = &self.nodes[n];
            let lost: Vec<String> = x
                .saved
                .log
                .iter()
                .filter(|(_, l)| whole.meets(&l.incomplete))
                .map(|(e, l)| {
                    format!(
                        "{}{}",
                        e.0,
                        if whole.meets(&l.owned) { "" } else { "(lost)" }
                    )
                })
                .collect();
            return format!("node {n} fetches none of it; incomplete in epochs {lost:?}");
        };
        let member = self.configs[self.latest().0 as usize]
            .member(&self.nodes[n].id)
            .is_some();
        let mut out = format!(
            "node {n} (member {member}, {} of {} pending running) fetches it from {:?} (since {:?}, until {:?}, cursor {}):",
            m.report().running,
            m.saved().pending.len(),
            p.source,
            p.since,
            p.until,
            p.cursor.is_some()
        );
        if depth == 0 {
            return out + " ...";
        }
        if p.until.is_some() {
            // Kept for the past: it stops once every current owner holds the range.
            let latest = self.latest();
            let owners = self.rings[latest.0 as usize].replica_group(&p.range.end);
            out += " [current owners of its end:";
            for o in owners {
                let k = self.index[&o];
                let done = self.nodes[k]
                    .mover
                    .as_ref()
                    .map(|m| m.complete(latest, &[RangeSet::point(&p.range.end)]));
                out += &format!(" {k} complete {done:?}");
            }
            out += &format!("; dirty here {}]", m.saved().dirty.meets(&whole));
        }
        let ask = Ask::List {
            source: p.source,
            req: overlay::transfer::page::ListRequest {
                range: p.range,
                after: p.cursor,
                limit: 1,
            },
        };
        for g in &p.group {
            let k = self.index[g];
            let x = &self.nodes[k];
            let said = match (&x.mover, x.byzantine) {
                _ if x.dead => "dead".to_string(),
                (_, Some(b)) => format!("byzantine {:?}", b.transfer),
                (None, _) => "down".to_string(),
                (Some(xm), None) => match xm.may_answer(&ask) {
                    Ok(()) => "answers".to_string(),
                    Err(_) => format!("({})", self.why_stalled(k, &p.range, depth - 1)),
                },
            };
            out += &format!(" {k}: {said};");
        }
        out
    }

    /// The node whose answers to completeness questions never let an old replica go, if any.
    pub(super) fn blocker(&self) -> Option<NodeId> {
        self.nodes
            .iter()
            .find(|x| x.byzantine.is_some_and(|b| b.complete.blocks_deletion()))
            .map(|x| x.id)
    }

    /// Whether fetch `p`, kept for past epochs, stays only because the sweep that would end
    /// it needs the Byzantine owner's word: every arc of the newest ring it meets has that
    /// owner, and every correct owner holds the arc completely.
    pub(super) fn kept_for_liar(&self, p: &mover::Pending) -> bool {
        let Some(b) = self.blocker() else {
            return false;
        };
        let latest = self.latest();
        let range = RangeSet::of(&p.range);
        p.until.is_some()
            && self.rings[latest.0 as usize]
                .arcs()
                .into_iter()
                .filter(|(r, _)| RangeSet::of(r).meets(&range))
                .all(|(r, group)| {
                    group.contains(&b)
                        && group.iter().filter(|o| **o != b).all(|o| {
                            let x = &self.nodes[self.index[o]];
                            x.mover
                                .as_ref()
                                .is_some_and(|m| m.complete(latest, &[r]) == [true])
                        })
                })
    }

    /// Why the transfers are not finished, if they are not.
    pub(super) fn unsettled(&self) -> Option<String> {
        let latest = self.latest();
        for (n, node) in self.nodes.iter().enumerate() {
            if !node.correct() || node.dead {
                continue;
            }
            if !node.up {
                return Some(format!("node {n} is down"));
            }
            let Some(m) = &node.mover else {
                return Some(format!("node {n} has no mover"));
            };
            let r = m.report();
            let left = m
                .saved()
                .pending
                .iter()
                .filter(|p| !self.kept_for_liar(p))
                .count();
            if node.known != Some(latest) || r.waiting || left > 0 {
                let first = m.saved().pending.first().map(|p| p.range);
                return Some(format!(
                    "node {n} knows {:?} (latest {latest:?}), waiting {}, {} ranges pending; {}",
                    node.known,
                    r.waiting,
                    r.pending_ranges,
                    first
                        .map(|r| self.why_stalled(n, &r, 4))
                        .unwrap_or_default()
                ));
            }
        }
        None
    }

    pub(super) fn begin_finals(&mut self) {
        self.enter(Phase::Final);
        let latest = self.latest();
        let clients = self.clients.len();
        for o in 0..self.catalog.objects() {
            self.clients[o % clients]
                .finals
                .push_back(Kind::Read { object: o });
        }
        let stored: Vec<usize> = self.stored.keys().copied().collect();
        for (i, content) in stored.into_iter().enumerate() {
            self.clients[i % clients]
                .finals
                .push_back(Kind::Get { content });
        }
        for c in 0..clients {
            self.clients[c].epoch = latest;
            self.sched.at(0, Ev::Start { client: c });
        }
    }

    /// How many objects correct nodes keep outside their ranges because the Byzantine
    /// owner blocks their deletion, or why the stores are not clean.
    pub(super) fn strays(&self) -> Result<usize, String> {
        let latest = self.latest();
        let ring = &self.rings[latest.0 as usize];
        let blocker = self.blocker();
        let mut kept = 0;
        for (n, node) in self.nodes.iter().enumerate() {
            if !node.correct() || node.dead {
                continue;
            }
            let owned = RangeSet::of_all(&ring.ranges_of(&node.id));
            let ids = node.store.versions.keys().chain(node.store.content.keys());
            for id in ids.filter(|id| !owned.contains(id)) {
                let group = ring.replica_group(id);
                if blocker.is_some_and(|b| group.contains(&b)) {
                    kept += 1;
                    continue;
                }
                return Err(format!(
                    "node {n} still holds {id:?}, which it does not own in {latest:?}"
                ));
            }
        }
        Ok(kept)
    }
}
