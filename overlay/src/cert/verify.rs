//! Certificate verification: a pure function returning a typed error.

use super::{CertBody, Certificate};
use crate::crypto::{self, PublicKey};
use crate::id::Hash;
use crate::time::Timestamp;

/// Why a certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// The signature does not verify under the key the certificate names.
    #[error("bad signature: the certificate was not signed by the key it names")]
    BadSignature,
    /// Signed by some other authority than this system's.
    #[error("wrong authority: signed by {got}, this system's authority is {expected}")]
    WrongAuthority {
        /// This system's authority key, hex.
        expected: String,
        /// The key that signed, hex.
        got: String,
    },
    /// The validity window ended.
    #[error("expired at {not_after} (now {now})")]
    Expired {
        /// Last valid second.
        not_after: Timestamp,
        /// The time of the check.
        now: Timestamp,
    },
    /// The validity window has not started.
    #[error("not valid before {not_before} (now {now})")]
    NotYetValid {
        /// First valid second.
        not_before: Timestamp,
        /// The time of the check.
        now: Timestamp,
    },
    /// Well-signed but violates a bound or rule.
    #[error("malformed certificate: {0}")]
    Malformed(String),
}

pub(super) fn verify<'c>(
    cert: &'c Certificate,
    authority: &PublicKey,
    now: Timestamp,
) -> Result<&'c CertBody, CertError> {
    if cert.authority != *authority {
        return Err(CertError::WrongAuthority {
            expected: Hash(authority.to_bytes()).to_hex(),
            got: Hash(cert.authority.to_bytes()).to_hex(),
        });
    }
    crypto::verify(authority, &cert.content, &cert.signature)
        .map_err(|_| CertError::BadSignature)?;
    let c = &cert.content;
    if c.not_before > c.not_after {
        return Err(CertError::Malformed(format!(
            "validity window is empty: not_before {} is after not_after {}",
            c.not_before, c.not_after
        )));
    }
    c.body.check_bounds().map_err(CertError::Malformed)?;
    if now < c.not_before {
        return Err(CertError::NotYetValid {
            not_before: c.not_before,
            now,
        });
    }
    if now > c.not_after {
        return Err(CertError::Expired {
            not_after: c.not_after,
            now,
        });
    }
    Ok(&c.body)
}
