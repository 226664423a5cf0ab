//! Tokens for the HTTP analyser from another host. A browser cannot prove a key the way a
//! libp2p connection does, so an analyst signs a short-lived token with the key of a
//! credential granting `analyze` (`rampart analyze --token`) and passes it as a bearer token
//! or a `?token=` query. The node checks the signature, the token's expiry (at most
//! `TOKEN_SECS_MAX` ahead) and then the credential as for any client request.

use serde::{Deserialize, Serialize};

use crate::cert::{CertBody, Certificate};
use crate::crypto::{self, SecretKey, Signature};
use crate::dbqs::access::Gate;
use crate::dbqs::replica::Refusal;
use crate::encoding::{Domain, decode, encode};
use crate::time::Timestamp;

/// The longest a token may be valid for.
pub const TOKEN_SECS_MAX: u64 = 7 * 86_400;
/// The longest token accepted, in hex digits.
pub const TOKEN_HEX_MAX: usize = 8 * 1024;

/// What the analyst signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Grant {
    not_after: Timestamp,
}

impl Domain for Grant {
    const DOMAIN: &'static str = "analyst-token";
}

/// A signed, expiring token carrying the analyst's credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalystToken {
    /// The analyst's credential.
    pub credential: Certificate,
    /// When the token stops being accepted.
    pub not_after: Timestamp,
    /// The credential key's signature over the expiry.
    pub sig: Signature,
}

impl AnalystToken {
    /// A token for `credential`, signed with its key, valid until `not_after`.
    pub fn sign(key: &SecretKey, credential: Certificate, not_after: Timestamp) -> AnalystToken {
        AnalystToken {
            sig: key.sign(&Grant { not_after }),
            credential,
            not_after,
        }
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

    /// Checks the token at `gate.now` and its credential at the gate.
    pub fn check(&self, gate: &Gate<'_>) -> Result<(), Refusal> {
        let now = gate.now;
        if now > self.not_after {
            return Err(Refusal::Denied(format!(
                "the token expired at {} (now {now})",
                self.not_after
            )));
        }
        if self.not_after.0 > now.0.saturating_add(TOKEN_SECS_MAX) {
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
                not_after: self.not_after,
            },
            &self.sig,
        )
        .map_err(|_| Refusal::BadCredential("the token's signature does not verify".into()))?;
        gate.admit_analyst(&self.credential, Some(key)).map(|_| ())
    }
}

#[cfg(test)]
mod tests;
