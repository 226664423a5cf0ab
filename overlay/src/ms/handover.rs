//! Handing the MS over to the next group, ordered in the old group's PBFT log.
//!
//! `NewEpoch` opens a handover. Old holders order their dealings ([`reshare::Dealing`]); new
//! holders open their sealed values, complain about bad ones, and declare how many of the
//! ordered dealings they have checked (`Ready`). A complaint is settled in public when the
//! dealer reveals that value's ephemeral secret: a right value clears the dealer, a wrong one
//! disqualifies it. The dealers are fixed, deterministically at every replica, as soon as
//! 2f_new+1 new holders have checked the first K dealings and at least t_old of those K stand
//! (no disqualification, no unsettled complaint): the first t_old of them. Those 2f_new+1
//! include f_new+1 correct holders that can each build their share, enough to sign. Meanwhile
//! the old group signs the epoch certificate with the old shares; the handover is complete
//! when both are done, and the new group takes over the state from then on.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::op::MsError;
use crate::crypto::PublicKey;
use crate::epoch::{EpochCert, EpochStatement};
use crate::id::{Hash, NodeId};
use crate::threshold::reshare::{self, Dealing, Plan, ReshareError};
use crate::threshold::{self, PublicKeyPackage};

/// An epoch change in progress (or the last one, complete).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handover {
    /// What the old group signs.
    pub statement: EpochStatement,
    /// The old group's public package, serialized.
    pub old_public: Vec<u8>,
    /// The old holders.
    pub old_holders: Vec<NodeId>,
    /// Shares needed in the old group.
    pub old_threshold: u32,
    /// The new holders' keys, in the order dealings seal to them.
    pub new_holders: Vec<PublicKey>,
    /// Shares needed in the new group.
    pub new_threshold: u32,
    /// Dealings in the order they were ordered.
    pub dealings: Vec<Dealing>,
    /// (dealer, complainer) → the value revealed to settle it, once it is.
    pub complaints: BTreeMap<(NodeId, NodeId), Option<[u8; 32]>>,
    /// Dealers proven wrong.
    pub disqualified: BTreeSet<NodeId>,
    /// New holder → how many of the ordered dealings it has checked.
    pub ready: BTreeMap<NodeId, u32>,
    /// The chosen dealers, once fixed.
    pub chosen: Option<Vec<NodeId>>,
    /// The new group's public package, once the dealers are fixed.
    pub new_public: Option<Vec<u8>>,
    /// The certificate of the new epoch, once signed.
    pub cert: Option<EpochCert>,
}

fn reshare_err(e: ReshareError) -> MsError {
    MsError::Reshare(e.to_string())
}

impl Handover {
    /// A handover of the key held under `old_public` by `old_holders` to `new_holders`.
    pub fn open(
        statement: EpochStatement,
        old_public: Vec<u8>,
        old_holders: Vec<NodeId>,
        old_threshold: u32,
        new_holders: Vec<PublicKey>,
        new_threshold: u32,
    ) -> Handover {
        Handover {
            statement,
            old_public,
            old_holders,
            old_threshold,
            new_holders,
            new_threshold,
            dealings: Vec::new(),
            complaints: BTreeMap::new(),
            disqualified: BTreeSet::new(),
            ready: BTreeMap::new(),
            chosen: None,
            new_public: None,
            cert: None,
        }
    }

    /// The session dealings are bound to.
    pub fn session(&self) -> Hash {
        Hash::of(&[
            b"rampart/v1/handover\0",
            &crate::encoding::domain_bytes(&self.statement),
        ])
    }

    /// The resharing plan every party derives from this handover.
    pub fn plan(&self) -> Result<Plan, MsError> {
        let old = PublicKeyPackage::deserialize(&self.old_public)
            .map_err(|e| MsError::Reshare(format!("old public package: {e}")))?;
        Ok(Plan {
            session: self.session(),
            old,
            old_threshold: self.old_threshold as usize,
            new_holders: self.new_holders.clone(),
            new_threshold: self.new_threshold as usize,
        })
    }

    /// Whether the dealers are fixed and the certificate signed.
    pub fn is_complete(&self) -> bool {
        self.new_public.is_some() && self.cert.is_some()
    }

    fn is_new_holder(&self, node: &NodeId) -> bool {
        self.new_holders.iter().any(|k| NodeId::of(k) == *node)
    }

    fn dealing_of(&self, dealer: &NodeId) -> Option<&Dealing> {
        self.dealings.iter().find(|d| d.dealer == *dealer)
    }

    fn open_for_dealing(&self) -> Result<(), MsError> {
        if self.chosen.is_some() {
            return Err(MsError::Reshare("the dealers are fixed already".into()));
        }
        Ok(())
    }

    /// An old holder's dealing.
    pub fn deal(&mut self, submitter: &NodeId, d: Dealing) -> Result<(), MsError> {
        self.open_for_dealing()?;
        if d.dealer != *submitter || !self.old_holders.contains(submitter) {
            return Err(MsError::Reshare(format!(
                "{submitter} may not deal for {}",
                d.dealer
            )));
        }
        if self.dealing_of(&d.dealer).is_some() {
            return Err(MsError::Reshare(format!("{} dealt already", d.dealer)));
        }
        reshare::check_dealing(&self.plan()?, &d).map_err(reshare_err)?;
        self.dealings.push(d);
        Ok(())
    }

    /// A new holder says its value in `dealer`'s dealing is wrong.
    pub fn complain(&mut self, submitter: &NodeId, dealer: NodeId) -> Result<(), MsError> {
        self.open_for_dealing()?;
        if !self.is_new_holder(submitter) {
            return Err(MsError::Reshare(format!("{submitter} is not a new holder")));
        }
        if self.dealing_of(&dealer).is_none() {
            return Err(MsError::Reshare(format!("no dealing from {dealer}")));
        }
        self.complaints.entry((dealer, *submitter)).or_insert(None);
        self.finalize()
    }

    /// The dealer answers a complaint with the ephemeral secret of `receiver`'s value.
    pub fn reveal(
        &mut self,
        submitter: &NodeId,
        receiver: NodeId,
        secret: [u8; 32],
    ) -> Result<(), MsError> {
        if !matches!(self.complaints.get(&(*submitter, receiver)), Some(None)) {
            return Err(MsError::Reshare("no open complaint to answer".into()));
        }
        let d = self
            .dealing_of(submitter)
            .ok_or_else(|| MsError::Reshare(format!("no dealing from {submitter}")))?;
        let r = threshold::field::scalar(&secret).map_err(|e| MsError::Reshare(e.to_string()))?;
        match reshare::open_revealed(&self.plan()?, d, &receiver, &r) {
            Ok(v) => {
                self.complaints
                    .insert((*submitter, receiver), Some(v.to_bytes()));
            }
            Err(ReshareError::BadSubShare(_)) => {
                self.disqualified.insert(*submitter);
            }
            Err(e) => return Err(reshare_err(e)),
        }
        self.finalize()
    }

    /// A new holder has checked the first `checked` ordered dealings.
    pub fn ready(&mut self, submitter: &NodeId, checked: u32) -> Result<(), MsError> {
        self.open_for_dealing()?;
        if !self.is_new_holder(submitter) {
            return Err(MsError::Reshare(format!("{submitter} is not a new holder")));
        }
        if checked as usize > self.dealings.len() {
            return Err(MsError::Reshare(format!(
                "{checked} dealings checked but {} ordered",
                self.dealings.len()
            )));
        }
        let e = self.ready.entry(*submitter).or_insert(0);
        *e = (*e).max(checked);
        self.finalize()
    }

    /// Whether a dealing stands: not disqualified, every complaint against it settled.
    fn stands(&self, dealer: &NodeId) -> bool {
        !self.disqualified.contains(dealer)
            && self
                .complaints
                .range((*dealer, NodeId(Hash::default()))..)
                .take_while(|((d, _), _)| d == dealer)
                .all(|(_, v)| v.is_some())
    }

    /// Fixes the dealers when the rule in the module comment allows.
    fn finalize(&mut self) -> Result<(), MsError> {
        if self.chosen.is_some() {
            return Ok(());
        }
        let f_new = (self.new_holders.len().saturating_sub(1)) / 3;
        let quorum = 2 * f_new + 1;
        let mut checked: Vec<u32> = self.ready.values().copied().collect();
        if checked.len() < quorum {
            return Ok(());
        }
        checked.sort_unstable_by(|a, b| b.cmp(a));
        // `ready` never exceeds the dealings ordered, except in a state decoded from elsewhere.
        let k = (checked[quorum - 1] as usize).min(self.dealings.len());
        let chosen: Vec<NodeId> = self.dealings[..k]
            .iter()
            .map(|d| d.dealer)
            .filter(|d| self.stands(d))
            .take(self.old_threshold as usize)
            .collect();
        if chosen.len() < self.old_threshold as usize {
            return Ok(());
        }
        let dealings: Vec<Dealing> = chosen
            .iter()
            .filter_map(|c| self.dealing_of(c).cloned())
            .collect();
        let public = reshare::public_package(&self.plan()?, &dealings).map_err(reshare_err)?;
        self.new_public = Some(
            public
                .serialize()
                .map_err(|e| MsError::Reshare(e.to_string()))?,
        );
        self.chosen = Some(chosen);
        Ok(())
    }

    /// The certificate the old group signed.
    pub fn certify(&mut self, cert: EpochCert, ms_key: &PublicKey) -> Result<(), MsError> {
        if cert.statement != self.statement {
            return Err(MsError::Reshare(
                "the certificate is for another statement".into(),
            ));
        }
        // Signing starts when the handover opens, and several replicas may coordinate: the
        // first certificate ordered is the epoch's, since its hash seeds the next group draw.
        if self.cert.is_some() {
            return Err(MsError::Reshare(
                "the statement is certified already".into(),
            ));
        }
        cert.verify(ms_key)
            .map_err(|e| MsError::Reshare(e.to_string()))?;
        self.cert = Some(cert);
        Ok(())
    }

    /// The chosen dealings, once fixed.
    pub fn chosen_dealings(&self) -> Option<Vec<Dealing>> {
        let chosen = self.chosen.as_ref()?;
        Some(
            chosen
                .iter()
                .filter_map(|c| self.dealing_of(c).cloned())
                .collect(),
        )
    }

    /// Values revealed to `receiver` by settled complaints, by dealer.
    pub fn revealed_to(&self, receiver: &NodeId) -> BTreeMap<NodeId, [u8; 32]> {
        self.complaints
            .iter()
            .filter(|((_, c), v)| c == receiver && v.is_some())
            .filter_map(|((d, _), v)| Some((*d, (*v)?)))
            .collect()
    }
}
