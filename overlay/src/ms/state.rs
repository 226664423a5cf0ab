//! The MS state: the current configuration and the queue for the next.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::handover::Handover;
use super::op::{MsError, Op, Outcome};
use crate::cert::{CertBody, Certificate};
use crate::config::{Configuration, Delta, Member, choose_ms_group};
use crate::crypto::PublicKey;
use crate::epoch::EpochStatement;
use crate::id::{ClientId, Hash, NodeId};
use crate::threshold::{self, PublicKeyPackage};
use crate::time::Timestamp;

/// How far ahead of the MS time a certificate's validity may start and still be accepted:
/// the MS time only advances at each epoch, so it lags the real time by up to an epoch.
pub const CLOCK_SKEW_SECS: u64 = 3600;
/// How long a revocation proven by evidence lasts.
pub const EVIDENCE_REVOCATION_SECS: u64 = 365 * 86_400;

/// Changes queued for the next epoch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// Nodes to admit.
    pub adds: BTreeMap<NodeId, Member>,
    /// Nodes the authority removes.
    pub removes: BTreeSet<NodeId>,
    /// Clients to revoke, until when.
    pub revokes: BTreeMap<ClientId, Timestamp>,
    /// Unresponsiveness reports: reported node → MS replicas that reported it.
    pub reports: BTreeMap<NodeId, BTreeSet<NodeId>>,
    /// Nodes proven to misbehave.
    pub evictions: BTreeSet<NodeId>,
}

/// The membership service's replicated state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    authority: PublicKey,
    config: Configuration,
    /// Hash of the current epoch's certificate: seeds the next MS group draw.
    seed: Hash,
    now: Timestamp,
    pending: Pending,
    /// Certificates used, with their expiry (after which they cannot be replayed anyway).
    used: BTreeMap<Hash, Timestamp>,
    /// The current MS group's FROST public package, serialized: its group key never changes,
    /// its public shares do at every handover.
    ms_public: Vec<u8>,
    /// The open handover, or the last one once complete.
    handover: Option<Handover>,
}

impl State {
    /// The MS of `config`, whose certificate hashes to `seed`, at time `now`, its group
    /// holding the key whose public package is `ms_public` (serialized).
    pub fn new(
        authority: PublicKey,
        config: Configuration,
        seed: Hash,
        now: Timestamp,
        ms_public: Vec<u8>,
    ) -> State {
        State {
            authority,
            config,
            seed,
            now,
            pending: Pending::default(),
            used: BTreeMap::new(),
            ms_public,
            handover: None,
        }
    }

    /// The current group's public package, serialized.
    pub fn ms_public(&self) -> &[u8] {
        &self.ms_public
    }

    /// The MS public key.
    pub fn ms_key(&self) -> Result<PublicKey, MsError> {
        let p = PublicKeyPackage::deserialize(&self.ms_public)
            .map_err(|e| MsError::Reshare(format!("public package: {e}")))?;
        threshold::group_key(&p).map_err(|e| MsError::Reshare(e.to_string()))
    }

    /// The open handover, or the last one.
    pub fn handover(&self) -> Option<&Handover> {
        self.handover.as_ref()
    }

    /// Whether `client` may submit: the authority, members, and the old holders while their
    /// handover is open (they may have left the configuration).
    pub fn admits(&self, client: &PublicKey) -> bool {
        let id = NodeId::of(client);
        *client == self.authority
            || self.config.member(&id).is_some()
            || self
                .handover
                .as_ref()
                .is_some_and(|h| !h.is_complete() && h.old_holders.contains(&id))
    }

    /// The authority's key.
    pub fn authority(&self) -> PublicKey {
        self.authority
    }

    /// The current configuration.
    pub fn config(&self) -> &Configuration {
        &self.config
    }

    /// What is queued.
    pub fn pending(&self) -> &Pending {
        &self.pending
    }

    /// The MS time.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Applies `op` submitted by `submitter`. On error nothing changed.
    pub fn apply(&mut self, submitter: &PublicKey, op: Op) -> Result<Outcome, MsError> {
        match op {
            Op::Add(cert) => self.add(&cert),
            Op::Remove(cert) => self.remove(&cert),
            Op::Revoke(cert) => self.revoke(&cert),
            Op::Unresponsive { node } => self.report(submitter, node),
            Op::Misbehaviour(e) => {
                let culprit = e.culprit(&self.config).ok_or(MsError::BadEvidence)?;
                let node = NodeId::of(&culprit);
                if self.config.member(&node).is_some() {
                    self.pending.evictions.insert(node);
                } else {
                    // Every replica holding the object reports the same client: the first
                    // report revokes it, the others are refused and change nothing.
                    let client = ClientId::of(&culprit);
                    if self.config.revoked.contains_key(&client)
                        || self.pending.revokes.contains_key(&client)
                    {
                        return Err(MsError::AlreadyRevoked(client));
                    }
                    let until = self.now.plus_secs(EVIDENCE_REVOCATION_SECS);
                    self.pending.revokes.insert(client, until);
                }
                Ok(Outcome::Queued)
            }
            Op::NewEpoch { closing, now } => {
                // The proposer's clock becomes the MS time: only MS replicas may propose.
                if !self.config.in_ms_group(&NodeId::of(submitter)) {
                    return Err(MsError::NotReporter);
                }
                if closing != self.config.epoch {
                    return Err(MsError::NotCurrent {
                        closing,
                        current: self.config.epoch,
                    });
                }
                self.new_epoch(now)
            }
            Op::Deal(d) => self.in_handover(|h| h.deal(&NodeId::of(submitter), d)),
            Op::Complain { dealer } => {
                self.in_handover(|h| h.complain(&NodeId::of(submitter), dealer))
            }
            Op::Reveal { receiver, secret } => {
                self.in_handover(|h| h.reveal(&NodeId::of(submitter), receiver, secret))
            }
            Op::Ready { checked } => self.in_handover(|h| h.ready(&NodeId::of(submitter), checked)),
            Op::Certified(cert) => {
                let key = self.ms_key()?;
                self.in_handover(|h| h.certify(cert, &key))
            }
        }
    }

    /// Applies a handover step to a copy, so that a refused step changes nothing, and settles
    /// the handover once it is complete: the new group's public package becomes current and
    /// the certificate seeds the next MS group draw.
    fn in_handover(
        &mut self,
        step: impl FnOnce(&mut Handover) -> Result<(), MsError>,
    ) -> Result<Outcome, MsError> {
        let h = self.handover.as_ref().ok_or(MsError::NoHandover)?;
        if h.is_complete() {
            return Err(MsError::NoHandover);
        }
        let mut h = h.clone();
        step(&mut h)?;
        if let (Some(public), Some(cert)) = (&h.new_public, &h.cert) {
            self.ms_public = public.clone();
            self.seed = cert.hash();
        }
        self.handover = Some(h);
        Ok(Outcome::Noted)
    }

    /// Verifies an authority certificate of `kind` that was not used before.
    fn check_cert<'c>(&self, cert: &'c Certificate, kind: &str) -> Result<&'c CertBody, MsError> {
        let c = &cert.content;
        let at = c
            .not_before
            .max(self.now)
            .min(self.now.plus_secs(CLOCK_SKEW_SECS));
        let body = cert.verify(&self.authority, at)?;
        if body.kind() != kind {
            return Err(MsError::WrongKind {
                want: kind.into(),
                got: body.kind().into(),
            });
        }
        if self.used.contains_key(&cert.id()) {
            return Err(MsError::Replayed);
        }
        Ok(body)
    }

    fn add(&mut self, cert: &Certificate) -> Result<Outcome, MsError> {
        let CertBody::Add { node, addrs } = self.check_cert(cert, "add")? else {
            unreachable!("check_cert checked the kind")
        };
        let m = Member {
            key: *node,
            addrs: addrs.clone(),
        };
        let id = m.id();
        if self.config.member(&id).is_some() || self.pending.adds.contains_key(&id) {
            return Err(MsError::AlreadyMember(id));
        }
        self.pending.adds.insert(id, m);
        self.used.insert(cert.id(), cert.content.not_after);
        Ok(Outcome::Queued)
    }

    fn remove(&mut self, cert: &Certificate) -> Result<Outcome, MsError> {
        let CertBody::Remove { node } = self.check_cert(cert, "remove")? else {
            unreachable!("check_cert checked the kind")
        };
        let node = *node;
        if self.pending.adds.remove(&node).is_none() {
            if self.config.member(&node).is_none() {
                return Err(MsError::NotMember(node));
            }
            self.pending.removes.insert(node);
        }
        self.used.insert(cert.id(), cert.content.not_after);
        Ok(Outcome::Queued)
    }

    fn revoke(&mut self, cert: &Certificate) -> Result<Outcome, MsError> {
        let CertBody::Revoke { client } = self.check_cert(cert, "revoke")? else {
            unreachable!("check_cert checked the kind")
        };
        let client = *client;
        if self.config.revoked.contains_key(&client) || self.pending.revokes.contains_key(&client) {
            return Err(MsError::AlreadyRevoked(client));
        }
        self.pending.revokes.insert(client, cert.content.not_after);
        self.used.insert(cert.id(), cert.content.not_after);
        Ok(Outcome::Queued)
    }

    fn report(&mut self, submitter: &PublicKey, node: NodeId) -> Result<Outcome, MsError> {
        let reporter = NodeId::of(submitter);
        if !self.config.in_ms_group(&reporter) {
            return Err(MsError::NotReporter);
        }
        if self.config.member(&node).is_none() {
            return Err(MsError::NotMember(node));
        }
        self.pending
            .reports
            .entry(node)
            .or_default()
            .insert(reporter);
        Ok(Outcome::Noted)
    }

    /// Nodes leaving in the next epoch: removed, evicted for misbehaviour, or reported
    /// unresponsive by f_ms+1 distinct MS replicas.
    pub fn leaving(&self) -> BTreeSet<NodeId> {
        let threshold = self.config.f_ms as usize + 1;
        let unresponsive = self
            .pending
            .reports
            .iter()
            .filter(|(_, r)| r.len() >= threshold)
            .map(|(n, _)| *n);
        self.pending
            .removes
            .iter()
            .chain(&self.pending.evictions)
            .copied()
            .chain(unresponsive)
            .collect()
    }

    /// The next configuration from the current one and the queue.
    pub fn next_config(&self, now: Timestamp) -> Result<Configuration, MsError> {
        let leaving = self.leaving();
        let mut members: BTreeMap<NodeId, Member> = self
            .config
            .members
            .iter()
            .filter(|m| !leaving.contains(&m.id()))
            .map(|m| (m.id(), m.clone()))
            .collect();
        members.extend(self.pending.adds.iter().map(|(id, m)| (*id, m.clone())));
        let ids: Vec<NodeId> = members.keys().copied().collect();
        let mut revoked = self.config.revoked.clone();
        revoked.retain(|_, until| *until >= now);
        revoked.extend(self.pending.revokes.iter().map(|(c, t)| (*c, *t)));
        let next = Configuration {
            epoch: self.config.epoch.next(),
            members: members.into_values().collect(),
            ms_group: choose_ms_group(&ids, self.config.f_ms, &self.seed),
            f: self.config.f,
            f_ms: self.config.f_ms,
            vnodes: self.config.vnodes,
            revoked,
        };
        let need = 3 * next.f.max(next.f_ms) as usize + 1;
        if next.members.len() < need {
            return Err(MsError::Invalid(format!(
                "{} members left; f={} and f_ms={} need {need}",
                next.members.len(),
                next.f,
                next.f_ms
            )));
        }
        next.validate()
            .map_err(|e| MsError::Invalid(e.to_string()))?;
        Ok(next)
    }

    fn new_epoch(&mut self, now: Timestamp) -> Result<Outcome, MsError> {
        if let Some(h) = self.handover.as_ref().filter(|h| !h.is_complete()) {
            return Err(MsError::HandoverInProgress(h.statement.epoch));
        }
        if now < self.now {
            return Err(MsError::TimeBackwards {
                now: self.now,
                got: now,
            });
        }
        let next = self.next_config(now)?;
        let delta = Delta::between(&self.config, &next);
        let epoch = next.epoch;
        let new_holders = next
            .ms_group
            .iter()
            .filter_map(|id| next.member(id).map(|m| m.key))
            .collect();
        self.handover = Some(Handover::open(
            EpochStatement {
                epoch,
                config_hash: next.hash(),
                delta_hash: delta.hash(),
            },
            self.ms_public.clone(),
            self.config.ms_group.clone(),
            self.config.f_ms + 1,
            new_holders,
            next.f_ms + 1,
        ));
        self.config = next.clone();
        self.now = now;
        self.pending = Pending::default();
        self.used.retain(|_, not_after| *not_after >= now);
        Ok(Outcome::Epoch {
            config: Box::new(next),
            delta: Box::new(delta),
            epoch,
        })
    }
}
