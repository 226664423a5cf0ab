//! What a correct MS replica does on its own initiative, decided from its replica's state
//! alone: close the epoch when its timer runs out, deal its share when a handover opens,
//! check the dealings and say how many it checked when it is a new holder, answer complaints,
//! have the epoch statement signed when it is the primary, and, once the handover is
//! complete, keep its new share and adopt the new configuration. Events in (ticks with the
//! local clock and the replica's state), actions out; the host carries them.

use std::collections::BTreeSet;

use rand_core::CryptoRngCore;

use super::app::MsApp;
use super::handover::Handover;
use super::op::Op;
use super::roles;
use crate::config::Configuration;
use crate::crypto::SecretKey;
use crate::epoch::{EpochCert, EpochStatement};
use crate::id::{Epoch, Hash, NodeId};
use crate::threshold::KeyPackage;
use crate::threshold::reshare::Ephemerals;
use crate::time::Timestamp;

/// How long a coordinator waits for a signing session before starting another; also the
/// longest a replica waits for the primary to coordinate before taking its turn.
pub const SIGNING_RETRY_MS: u64 = 10_000;
/// Queued changes that close an epoch at once, without waiting for the epoch interval, so a
/// burst of admissions does not wait a whole interval or grow the queue without bound.
pub const CHANGES_MAX: usize = 256;

/// What the host must do.
#[derive(Debug)]
pub enum DriverAction {
    /// Submit an operation to this MS through PBFT, signed with the node key.
    Submit(Box<Op>),
    /// Coordinate a threshold signature over `statement` with the old group's shares.
    SignEpoch {
        /// What to sign.
        statement: EpochStatement,
        /// The old holders.
        holders: Vec<NodeId>,
        /// Their public package, serialized.
        public: Vec<u8>,
        /// Shares needed.
        threshold: u32,
    },
    /// Keep `key` as this node's share for the MS group of `epoch`, replacing the old one
    /// (which must be erased from memory and disk).
    NewShare {
        /// The epoch whose group holds it.
        epoch: Epoch,
        /// The share.
        key: Box<KeyPackage>,
    },
    /// The handover is complete: adopt the next configuration.
    Adopt {
        /// The configuration.
        config: Box<Configuration>,
        /// Its certificate.
        cert: EpochCert,
        /// The new MS group's public package, serialized.
        ms_public: Vec<u8>,
    },
}

/// The replica's side of the MS lifecycle. Its share is zeroed when replaced or dropped.
pub struct Driver {
    key: SecretKey,
    me: NodeId,
    share: Option<KeyPackage>,
    epoch_interval_ms: u64,
    epoch_seen: Option<(Epoch, u64)>,
    last_proposal_ms: Option<u64>,
    dealt: Option<(Hash, Ephemerals)>,
    reported: (Hash, u32),
    reveals_sent: BTreeSet<NodeId>,
    signing_since: Option<(Hash, u64)>,
    handover_seen: Option<(Hash, u64)>,
    finished: Option<Epoch>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.set_share(None);
    }
}

/// What the driver sees of its replica on a tick.
pub struct Local<'a> {
    /// The application state.
    pub app: &'a MsApp,
    /// Whether this replica is the primary of its current view.
    pub primary: bool,
    /// This replica's index in its instance, for staggering proposals.
    pub index: u32,
}

impl Driver {
    /// The driver of the node with `key`, holding `share` of the MS key if any; an epoch is
    /// closed `epoch_interval_ms` after it began when changes are queued.
    pub fn new(key: SecretKey, share: Option<KeyPackage>, epoch_interval_ms: u64) -> Driver {
        let me = NodeId::of(&key.public());
        Driver {
            key,
            me,
            share,
            epoch_interval_ms,
            epoch_seen: None,
            last_proposal_ms: None,
            dealt: None,
            reported: (Hash::default(), 0),
            reveals_sent: BTreeSet::new(),
            signing_since: None,
            handover_seen: None,
            finished: None,
        }
    }

    /// The statement this replica would sign now: that of the handover it has open, until
    /// its certificate is ordered.
    pub fn open_statement(app: &MsApp) -> Option<EpochStatement> {
        open_handover(app)
            .filter(|h| h.cert.is_none())
            .map(|h| h.statement)
    }

    /// Replaces the share, zeroing the old one.
    fn set_share(&mut self, share: Option<KeyPackage>) {
        if let Some(old) = self.share.as_mut() {
            zeroize::Zeroize::zeroize(old);
        }
        self.share = share;
    }

    /// This node's current share of the MS key, if it holds one.
    pub fn share(&self) -> Option<&KeyPackage> {
        self.share.as_ref()
    }

    /// The epoch interval.
    pub fn epoch_interval_ms(&self) -> u64 {
        self.epoch_interval_ms
    }

    /// One tick at local time `now_ms` (monotonic) and wall time `now`.
    pub fn tick<R: CryptoRngCore>(
        &mut self,
        now_ms: u64,
        now: Timestamp,
        local: &Local<'_>,
        rng: &mut R,
    ) -> Vec<DriverAction> {
        let app = local.app;
        if app.handed_over() {
            return self.finish(app);
        }
        match open_handover(app) {
            None => self.maybe_close_epoch(now_ms, now, local),
            Some(h) => self.hand_over(now_ms, h, local, rng),
        }
    }

    fn maybe_close_epoch(
        &mut self,
        now_ms: u64,
        now: Timestamp,
        local: &Local<'_>,
    ) -> Vec<DriverAction> {
        let state = &local.app.state;
        let epoch = state.config().epoch;
        let seen = match self.epoch_seen {
            Some((e, t)) if e == epoch => t,
            _ => {
                self.epoch_seen = Some((epoch, now_ms));
                now_ms
            }
        };
        let p = state.pending();
        let changes = p.adds.len() + p.removes.len() + p.revokes.len() + p.evictions.len();
        let queued = changes > 0 || !state.leaving().is_empty();
        // The primary proposes first; the others later, in case it does not.
        let stagger = if local.primary {
            0
        } else {
            self.epoch_interval_ms / 4 * (1 + u64::from(local.index))
        };
        let interval = if changes >= CHANGES_MAX {
            0
        } else {
            self.epoch_interval_ms
        };
        let due = now_ms >= seen + interval + stagger;
        let recently = self
            .last_proposal_ms
            .is_some_and(|t| now_ms < t + self.epoch_interval_ms);
        if !queued || !due || recently {
            return Vec::new();
        }
        self.last_proposal_ms = Some(now_ms);
        vec![DriverAction::Submit(Box::new(Op::NewEpoch {
            closing: epoch,
            now: now.max(state.now()),
        }))]
    }

    fn hand_over<R: CryptoRngCore>(
        &mut self,
        now_ms: u64,
        h: &Handover,
        local: &Local<'_>,
        rng: &mut R,
    ) -> Vec<DriverAction> {
        let mut out = Vec::new();
        let session = h.session();
        // Deal once per handover.
        if let Some(share) = &self.share
            && h.old_holders.contains(&self.me)
            && self.dealt.as_ref().is_none_or(|(s, _)| *s != session)
            && roles::missing_dealers(h).contains(&self.me)
            && let Ok((op, eph)) = roles::deal(h, self.me, share, rng)
        {
            self.dealt = Some((session, eph));
            self.reveals_sent.clear();
            out.push(DriverAction::Submit(Box::new(op)));
        }
        // Answer complaints against our dealing.
        if let Some((s, eph)) = &self.dealt
            && *s == session
        {
            for op in roles::reveals(h, &self.me, eph) {
                if let Op::Reveal { receiver, .. } = &op
                    && self.reveals_sent.insert(*receiver)
                {
                    out.push(DriverAction::Submit(Box::new(op)));
                }
            }
        }
        out.extend(self.check_as_new_holder(h));
        // As the primary: get the statement signed by the old group.
        let statement_id = Hash::of(&[&crate::encoding::encode(&h.statement)]);
        let stale = self
            .signing_since
            .is_none_or(|(s, t)| s != statement_id || now_ms >= t + SIGNING_RETRY_MS);
        // The primary coordinates at once; the others in turn later, in case it does not: a
        // primary that follows PBFT may still be Byzantine in the MS, and PBFT would never
        // replace it, since the requests it orders keep flowing.
        let seen = match self.handover_seen {
            Some((s, t)) if s == session => t,
            _ => {
                self.handover_seen = Some((session, now_ms));
                now_ms
            }
        };
        let fallback = SIGNING_RETRY_MS.min(self.epoch_interval_ms / 2);
        let turn = local.primary || now_ms >= seen + fallback * (1 + u64::from(local.index));
        if turn && h.cert.is_none() && stale {
            self.signing_since = Some((statement_id, now_ms));
            out.push(DriverAction::SignEpoch {
                statement: h.statement,
                holders: h.old_holders.clone(),
                public: h.old_public.clone(),
                threshold: h.old_threshold,
            });
        }
        out
    }

    /// As a new holder: check what was dealt, complain, say how far we checked.
    fn check_as_new_holder(&mut self, h: &Handover) -> Vec<DriverAction> {
        let mut out = Vec::new();
        if !h.new_holders.contains(&self.key.public()) {
            return out;
        }
        let session = h.session();
        if self.reported.0 != session {
            self.reported = (session, 0);
        }
        if let Ok(ops) = roles::check(h, &self.key, self.reported.1) {
            for op in ops {
                if let Op::Ready { checked } = &op {
                    self.reported.1 = *checked;
                }
                out.push(DriverAction::Submit(Box::new(op)));
            }
        }
        out
    }

    /// A new holder that is not a replica of the old instance, on a view of its handover that
    /// f+1 old replicas agree on: check and report while it is open; once it is complete, the
    /// new share. The host then starts the next instance from the handed-over state.
    pub fn tick_outsider(&mut self, h: &Handover) -> Vec<DriverAction> {
        if !h.is_complete() {
            return self.check_as_new_holder(h);
        }
        let epoch = h.statement.epoch;
        if self.finished == Some(epoch) || !h.new_holders.contains(&self.key.public()) {
            return Vec::new();
        }
        self.finished = Some(epoch);
        match roles::new_share(h, &self.key) {
            Ok(Some(key)) => {
                self.set_share(Some(key.clone()));
                vec![DriverAction::NewShare {
                    epoch,
                    key: Box::new(key),
                }]
            }
            Ok(None) | Err(_) => Vec::new(),
        }
    }

    /// The epoch certificate a signing session produced.
    pub fn signed(&mut self, cert: EpochCert) -> Vec<DriverAction> {
        vec![DriverAction::Submit(Box::new(Op::Certified(cert)))]
    }

    fn finish(&mut self, app: &MsApp) -> Vec<DriverAction> {
        let state = &app.state;
        let epoch = state.config().epoch;
        if self.finished == Some(epoch) {
            return Vec::new();
        }
        let Some(h) = state.handover() else {
            return Vec::new();
        };
        let Some(cert) = h.cert else {
            return Vec::new();
        };
        self.finished = Some(epoch);
        self.dealt = None;
        let mut out = Vec::new();
        if h.new_holders.contains(&self.key.public()) {
            match roles::new_share(h, &self.key) {
                Ok(Some(key)) => {
                    self.set_share(Some(key.clone()));
                    out.push(DriverAction::NewShare {
                        epoch,
                        key: Box::new(key),
                    });
                }
                // A chosen dealer sealed a bad value to us after the dealers were fixed: the
                // group signs without us this epoch (no share repair: docs/DESIGN-NOTES.md).
                Ok(None) | Err(_) => self.set_share(None),
            }
        } else {
            self.set_share(None);
        }
        out.push(DriverAction::Adopt {
            config: Box::new(state.config().clone()),
            cert,
            ms_public: state.ms_public().to_vec(),
        });
        out
    }
}

/// The handover this instance is running, if one is open.
fn open_handover(app: &MsApp) -> Option<&Handover> {
    app.state
        .handover()
        .filter(|h| !h.is_complete() && h.statement.epoch != app.instance)
}
