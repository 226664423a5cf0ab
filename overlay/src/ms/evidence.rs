//! Self-verifying proofs of misbehaviour: two different statements one key signed for the
//! same slot. Anyone can check them, so the MS acts on them without an admin.

use serde::{Deserialize, Serialize};

use crate::crypto::{self, PublicKey, Signature};
use crate::encoding::Domain;
use crate::id::Hash;

/// A statement a node or client signs for one slot (an object version, a protocol step).
/// Signing two different `content`s for one `slot` is misbehaviour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// The signer.
    pub signer: PublicKey,
    /// What the statement is about: e.g. H(object id ‖ version).
    pub slot: Hash,
    /// What it says: e.g. H(value).
    pub content: Hash,
}

impl Domain for Statement {
    const DOMAIN: &'static str = "statement";
}

/// Two conflicting signed statements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The first statement and its signature.
    pub a: (Statement, Signature),
    /// The second.
    pub b: (Statement, Signature),
}

impl Evidence {
    /// The key that misbehaved, if the evidence proves it: same signer, same slot, different
    /// content, both signatures valid.
    pub fn culprit(&self) -> Option<PublicKey> {
        let ((sa, siga), (sb, sigb)) = (&self.a, &self.b);
        if sa.signer != sb.signer || sa.slot != sb.slot || sa.content == sb.content {
            return None;
        }
        crypto::verify(&sa.signer, sa, siga).ok()?;
        crypto::verify(&sb.signer, sb, sigb).ok()?;
        Some(sa.signer)
    }
}
