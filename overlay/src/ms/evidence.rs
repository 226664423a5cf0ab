//! Self-verifying proofs of misbehaviour: two different things one key signed for the same
//! slot. Anyone can check them, so the MS acts on them without an admin.

use serde::{Deserialize, Serialize};

use crate::config::Configuration;
use crate::crypto::{self, PublicKey, Signature};
use crate::dbqs::object::Stamp;
use crate::encoding::Domain;
use crate::id::Hash;
use crate::pbft::{Payload, Signed};

/// A statement a node or client signs for one slot (a protocol step). Signing two different
/// `content`s for one `slot` is misbehaviour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// The signer.
    pub signer: PublicKey,
    /// What the statement is about.
    pub slot: Hash,
    /// What it says.
    pub content: Hash,
}

impl Domain for Statement {
    const DOMAIN: &'static str = "statement";
}

/// Two conflicting signed messages of one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Evidence {
    /// Two statements for one slot that say different things.
    Statements {
        /// The first statement and its signature.
        a: (Statement, Signature),
        /// The second.
        b: (Statement, Signature),
    },
    /// An object's owner signed two different values (or a value and a tombstone) as one
    /// version number of one object: replicas would order them by digest, but no honest
    /// client ever does it, so a replica that holds one and is sent the other reports both.
    Versions {
        /// The version held and its owner's signature.
        a: (Stamp, Signature),
        /// The version sent and its owner's signature.
        b: (Stamp, Signature),
    },
    /// A replica of the current MS group signed two different digests for one step (the
    /// pre-prepare, prepare or commit of one view and sequence number).
    Pbft {
        /// The first message.
        a: Box<Signed>,
        /// The conflicting one.
        b: Box<Signed>,
    },
}

/// The step a PBFT message votes in, and its digest.
fn step(m: &Signed) -> Option<((u8, u64, u64), crate::id::Hash)> {
    match &m.payload {
        Payload::PrePrepare {
            view, seq, digest, ..
        } => Some(((0, view.0, seq.0), *digest)),
        Payload::Prepare { view, seq, digest } => Some(((1, view.0, seq.0), *digest)),
        Payload::Commit { view, seq, digest } => Some(((2, view.0, seq.0), *digest)),
        _ => None,
    }
}

impl Evidence {
    /// The key that misbehaved, if the evidence proves it: one signer, one slot, different
    /// contents, both signatures valid. PBFT messages are checked against the MS instance of
    /// `current`, the configuration the MS is in.
    pub fn culprit(&self, current: &Configuration) -> Option<PublicKey> {
        match self {
            Evidence::Pbft { a, b } => {
                let (sa, da) = step(a)?;
                let (sb, db) = step(b)?;
                if a.from != b.from || sa != sb || da == db {
                    return None;
                }
                let cfg = crate::pbft::Config::for_ms(current);
                a.verify(&cfg).ok()?;
                b.verify(&cfg).ok()?;
                cfg.key(a.from).copied()
            }
            Evidence::Statements { a, b } => {
                let ((sa, siga), (sb, sigb)) = (a, b);
                if sa.signer != sb.signer || sa.slot != sb.slot || sa.content == sb.content {
                    return None;
                }
                crypto::verify(&sa.signer, sa, siga).ok()?;
                crypto::verify(&sb.signer, sb, sigb).ok()?;
                Some(sa.signer)
            }
            Evidence::Versions { a, b } => {
                let ((sa, siga), (sb, sigb)) = (a, b);
                if sa.owner != sb.owner
                    || sa.name != sb.name
                    || sa.number != sb.number
                    || sa.digest == sb.digest
                {
                    return None;
                }
                crypto::verify(&sa.owner, sa, siga).ok()?;
                crypto::verify(&sb.owner, sb, sigb).ok()?;
                Some(sa.owner)
            }
        }
    }

    /// What the evidence shows, in a few words, for logs and the dashboard.
    pub fn describe(&self) -> String {
        match self {
            Evidence::Statements { a, .. } => {
                format!(
                    "signed two different statements for slot {}",
                    a.0.slot.short()
                )
            }
            Evidence::Versions { a, .. } => format!(
                "signed two different values as version {} of object {}",
                a.0.number,
                crate::dbqs::object::keyed_id(&a.0.owner, &a.0.name).short()
            ),
            Evidence::Pbft { a, .. } => match step(a) {
                Some(((kind, view, seq), _)) => format!(
                    "signed two different {} digests for view {view}, sequence {seq} of the MS",
                    ["pre-prepare", "prepare", "commit"][usize::from(kind.min(2))]
                ),
                None => "signed two conflicting MS messages".into(),
            },
        }
    }
}
