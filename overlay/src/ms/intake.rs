//! Which order requests an MS replica's host queues, decided before it keeps anything for
//! one: the signer must be one the MS admits (any signer, for an application that admits
//! everyone) (the authority, a member, an MS replica of the
//! current or the retiring instance), the signature must verify, and the signer must have room
//! in its share of the reply table. MS replicas' own requests have room kept for them, so a
//! member flooding requests cannot stop probes, evictions or the handover.

use std::collections::BTreeSet;

use crate::config::Configuration;
use crate::constants::{ORDER_PENDING_MAX, ORDER_PENDING_PER_SIGNER, ORDER_PENDING_RESERVED};
use crate::crypto::PublicKey;
use crate::guard::{Class, Refusal, ShareLimits, Shares};
use crate::id::NodeId;
use crate::pbft::SignedRequest;

/// Who may sign order requests, as the host knows it now.
pub struct Signers<'a> {
    /// The authority's key.
    pub authority: &'a PublicKey,
    /// The host's current configuration.
    pub config: &'a Configuration,
    /// The replicas of the current and the retiring MS instance, and the holders of their
    /// handovers (new holders order before the host's configuration lists them).
    pub ms: &'a BTreeSet<NodeId>,
    /// The replicated application admits any signer (PBFT's null application, which the
    /// ordering benches run): only signatures and shares are checked.
    pub anyone: bool,
}

/// Why a request was not queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeRefusal {
    /// The signer is nobody the MS admits.
    #[error("the signer is not admitted to the membership service")]
    NotAdmitted,
    /// The signature does not verify.
    #[error("the request's signature does not verify")]
    BadSignature,
    /// No room for the signer.
    #[error("{0}")]
    Full(Refusal),
}

/// Counts of refusals, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntakeCounts {
    /// Signers not admitted.
    pub not_admitted: u64,
    /// Signatures that did not verify.
    pub bad_signature: u64,
    /// Requests past a share or the table.
    pub full: u64,
}

/// The reply table's shares, and what was refused.
pub struct OrderIntake {
    shares: Shares<[u8; 32]>,
    counts: IntakeCounts,
}

impl Default for OrderIntake {
    fn default() -> Self {
        OrderIntake::new(ShareLimits {
            total: ORDER_PENDING_MAX,
            per_party: ORDER_PENDING_PER_SIGNER,
            reserved: ORDER_PENDING_RESERVED,
        })
    }
}

impl OrderIntake {
    /// A table within `limits`.
    pub fn new(limits: ShareLimits) -> OrderIntake {
        OrderIntake {
            shares: Shares::new(limits),
            counts: IntakeCounts::default(),
        }
    }

    /// Takes room for `req`'s reply, or says why not.
    pub fn admit(&mut self, req: &SignedRequest, who: &Signers<'_>) -> Result<(), IntakeRefusal> {
        let signer = &req.request.client;
        let id = NodeId::of(signer);
        let class = if who.ms.contains(&id) {
            Class::Own
        } else if who.anyone || signer == who.authority || who.config.member(&id).is_some() {
            Class::Outside
        } else {
            self.counts.not_admitted += 1;
            return Err(IntakeRefusal::NotAdmitted);
        };
        if req.verify().is_err() {
            self.counts.bad_signature += 1;
            return Err(IntakeRefusal::BadSignature);
        }
        self.shares.take(&signer.to_bytes(), class).map_err(|r| {
            self.counts.full += 1;
            IntakeRefusal::Full(r)
        })
    }

    /// One reply to a request of the signer with key bytes `signer` was sent or given up:
    /// its room is free again.
    pub fn done(&mut self, signer: &[u8; 32]) {
        self.shares.give_back(signer);
    }

    /// Whether `signer` holds its whole share now.
    pub fn at_share(&self, signer: &PublicKey) -> bool {
        self.shares.held_by(&signer.to_bytes()) >= self.shares.limits().per_party
    }

    /// Reply channels held now.
    pub fn held(&self) -> usize {
        self.shares.used()
    }

    /// What was refused.
    pub fn counts(&self) -> IntakeCounts {
        self.counts
    }
}
