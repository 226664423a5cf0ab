//! Tokens for the HTTP analyser. A browser cannot prove a key the way a libp2p connection
//! does, so an analyst signs a token with the key of a credential granting `analyze`
//! (`rampart analyze --token --peer <node>`) and sends it as `Authorization: Bearer`. A token
//! names the one node it is for, lasts at most [`TOKEN_SECS_MAX`], and can be revoked on its
//! own ([`revoked`]). The node checks the signature, the node, the expiry and then the
//! credential as for any client request; [`http`] decides which requests need a token.

use serde::{Deserialize, Serialize};

use crate::cert::{CertBody, Certificate};
use crate::crypto::{self, SecretKey, Signature};
use crate::dbqs::access::Gate;
use crate::dbqs::replica::Refusal;
use crate::encoding::{Domain, decode, encode};
use crate::id::{Hash, NodeId};
use crate::time::Timestamp;

pub mod http;
pub mod revoked;

/// The longest a token may be valid for.
pub const TOKEN_SECS_MAX: u64 = crate::constants::ANALYST_TOKEN_SECS_MAX;
/// The longest token accepted, in hex digits.
pub const TOKEN_HEX_MAX: usize = 8 * 1024;

/// What the analyst signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Grant {
    node: NodeId,
    not_after: Timestamp,
    nonce: [u8; 16],
}

impl Domain for Grant {
    const DOMAIN: &'static str = "analyst-token";
}

/// A signed, expiring token carrying the analyst's credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalystToken {
    /// The analyst's credential.
    pub credential: Certificate,
    /// The node it is for: another node refuses it, so a token a node saw cannot be replayed
    /// at the rest.
    pub node: NodeId,
    /// When the token stops being accepted.
    pub not_after: Timestamp,
    /// Random: two tokens signed in one second differ, so revoking one leaves the other.
    pub nonce: [u8; 16],
    /// The credential key's signature over the node, the expiry and the nonce.
    pub sig: Signature,
}

impl AnalystToken {
    /// A token for `credential` at `node`, signed with its key, valid until `not_after`;
    /// `nonce` should be random.
    pub fn sign(
        key: &SecretKey,
        credential: Certificate,
        node: NodeId,
        not_after: Timestamp,
        nonce: [u8; 16],
    ) -> AnalystToken {
        AnalystToken {
            sig: key.sign(&Grant {
                node,
                not_after,
                nonce,
            }),
            credential,
            node,
            not_after,
            nonce,
        }
    }

    /// What names this token in a revocation.
    pub fn id(&self) -> Hash {
        Hash::of(&[b"rampart/v1/analyst-token\0", &encode(self)])
    }

    /// As text for a header or a URL.
    pub fn to_hex(&self) -> String {
        hex::encode(encode(self))
    }

    /// From text, bounded.
    pub fn from_hex(s: &str) -> Result<AnalystToken, String> {
        if s.len() > TOKEN_HEX_MAX {
            return Err(format!(
                "a token of {} digits, at most {TOKEN_HEX_MAX}",
                s.len()
            ));
        }
        let bytes = hex::decode(s.trim()).map_err(|e| format!("not a token: {e}"))?;
        decode(&bytes, TOKEN_HEX_MAX / 2).map_err(|e| format!("not a token: {e}"))
    }

    /// Checks the token at `gate.now`, for node `gate.me`, and its credential at the gate.
    pub fn check(&self, gate: &Gate<'_>) -> Result<(), Refusal> {
        let now = gate.now;
        if self.node != gate.me {
            return Err(Refusal::Denied(format!(
                "the token is for node {}, this is node {}",
                self.node.0.short(),
                gate.me.0.short()
            )));
        }
        if now > self.not_after {
            return Err(Refusal::Denied(format!(
                "the token expired at {} (now {now})",
                self.not_after
            )));
        }
        let latest = now
            .0
            .saturating_add(TOKEN_SECS_MAX)
            .saturating_add(crate::constants::ANALYST_CLOCK_SKEW_SECS);
        if self.not_after.0 > latest {
            return Err(Refusal::Denied(format!(
                "the token is valid for more than {TOKEN_SECS_MAX} s"
            )));
        }
        let CertBody::Client { key, .. } = &self.credential.content.body else {
            return Err(Refusal::BadCredential("not a client credential".into()));
        };
        crypto::verify(
            key,
            &Grant {
                node: self.node,
                not_after: self.not_after,
                nonce: self.nonce,
            },
            &self.sig,
        )
        .map_err(|_| Refusal::BadCredential("the token's signature does not verify".into()))?;
        gate.admit_analyst(&self.credential, Some(key)).map(|_| ())
    }
}

#[cfg(test)]
mod tests;
