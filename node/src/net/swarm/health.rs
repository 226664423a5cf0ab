//! What the analyser shows beyond the current configuration: when this node adopted each
//! epoch, when it last saw each member answer a probe, and what it reported to the MS. Epoch
//! history and membership events are derived from the configurations the node keeps; only
//! times and this node's own reports are recorded here, each bounded.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Instant;

use actors::epochs::View;
use overlay::config::Configuration;
use overlay::id::{ClientId, Epoch, Hash, NodeId};
use overlay::status::{EVENTS_MAX, EpochSummary, Event, EventKind, HISTORY_MAX};

/// Culprits remembered as reported, so each is reported once (the MS refuses repeats anyway).
const REPORTED_MAX: usize = 1024;

/// The analyser's memory.
#[derive(Default)]
pub struct Health {
    adopted: BTreeMap<Epoch, Instant>,
    probe_seen: HashMap<NodeId, Instant>,
    noted: VecDeque<(Instant, Event)>,
    reported: BTreeSet<Hash>,
}

impl Health {
    /// The view changed: remember when each newly known epoch was adopted, and forget the
    /// probe answers of nodes that are no longer members.
    pub fn on_view(&mut self, view: &View) {
        let now = Instant::now();
        for epoch in view.history.keys() {
            self.adopted.entry(*epoch).or_insert(now);
        }
        while self.adopted.len() > HISTORY_MAX {
            self.adopted.pop_first();
        }
        let config = &view.config;
        self.probe_seen.retain(|n, _| config.member(n).is_some());
    }

    /// `node` answered a probe.
    pub fn on_probe_answer(&mut self, node: NodeId) {
        self.probe_seen.insert(node, Instant::now());
    }

    /// Seconds since `node` last answered a probe here.
    pub fn probe_age(&self, node: &NodeId) -> Option<u64> {
        self.probe_seen.get(node).map(|t| t.elapsed().as_secs())
    }

    /// Whether `culprit` is reported for the first time (and remembers it).
    pub fn first_report(&mut self, culprit: Hash) -> bool {
        if self.reported.len() >= REPORTED_MAX {
            self.reported.clear();
        }
        self.reported.insert(culprit)
    }

    /// Records something this node did.
    pub fn note(&mut self, epoch: Epoch, kind: EventKind, subject: Hash, detail: String) {
        if self.noted.len() >= EVENTS_MAX {
            self.noted.pop_front();
        }
        let e = Event {
            secs_ago: 0,
            epoch,
            kind,
            subject,
            detail,
        };
        self.noted.push_back((Instant::now(), e));
    }

    fn secs_ago(&self, epoch: &Epoch) -> u64 {
        self.adopted.get(epoch).map_or(0, |t| t.elapsed().as_secs())
    }

    /// The epochs of `view`, newest first.
    pub fn history(&self, view: &View) -> Vec<EpochSummary> {
        let configs: Vec<&Configuration> = view.history.values().map(|(c, _)| &**c).collect();
        let mut out: Vec<EpochSummary> = configs
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let prev = i
                    .checked_sub(1)
                    .and_then(|j| configs.get(j))
                    .filter(|p| p.epoch.0 + 1 == c.epoch.0);
                summary(c, prev.copied(), self.secs_ago(&c.epoch))
            })
            .collect();
        out.reverse();
        out.truncate(HISTORY_MAX);
        out
    }

    /// Membership changes in `history` and what this node noted, newest first.
    pub fn events(&self, history: &[EpochSummary]) -> Vec<Event> {
        let mut out: Vec<Event> = self
            .noted
            .iter()
            .map(|(t, e)| Event {
                secs_ago: t.elapsed().as_secs(),
                ..e.clone()
            })
            .collect();
        for h in history {
            let mut add = |kind, subject: Hash, detail: String| {
                out.push(Event {
                    secs_ago: h.secs_ago,
                    epoch: h.epoch,
                    kind,
                    subject,
                    detail,
                })
            };
            for n in &h.joined {
                add(
                    EventKind::Joined,
                    n.0,
                    format!("node {} joined", n.0.short()),
                );
            }
            for n in &h.left {
                add(
                    EventKind::Left,
                    n.0,
                    format!("node {} left (removed or evicted)", n.0.short()),
                );
            }
            for c in &h.revoked {
                add(
                    EventKind::Revoked,
                    c.0,
                    format!("client {} revoked", c.0.short()),
                );
            }
        }
        out.sort_by_key(|e| (e.secs_ago, std::cmp::Reverse(e.epoch)));
        out.truncate(EVENTS_MAX);
        out
    }
}

fn summary(c: &Configuration, prev: Option<&Configuration>, secs_ago: u64) -> EpochSummary {
    let ids =
        |c: &Configuration| -> BTreeSet<NodeId> { c.members.iter().map(|m| m.id()).collect() };
    let (joined, left, revoked) = match prev {
        Some(p) => {
            let (now, before) = (ids(c), ids(p));
            let revoked: Vec<ClientId> = c
                .revoked
                .keys()
                .filter(|k| !p.revoked.contains_key(k))
                .copied()
                .collect();
            (
                now.difference(&before).copied().collect(),
                before.difference(&now).copied().collect(),
                revoked,
            )
        }
        None => (vec![], vec![], vec![]),
    };
    EpochSummary {
        epoch: c.epoch,
        members: c.members.len() as u32,
        ms_group: c.ms_group.clone(),
        joined,
        left,
        revoked,
        secs_ago,
    }
}
