//! Ed25519 keys and domain-separated signatures.
//!
//! Every signature covers [`crate::encoding::domain_bytes`] of a value, and verification is
//! always `verify_strict`, which rejects small-order keys and malleable signatures.

use ed25519_dalek::{Signer, SigningKey};
use serde::Serialize;

use crate::encoding::{Domain, domain_bytes};

pub use ed25519_dalek::{Signature, VerifyingKey as PublicKey};

/// A signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("signature does not verify")]
pub struct BadSignature;

/// A secret signing key. Not `Debug`, not `Serialize`: it leaves memory only through the key
/// file writer, so it cannot end up in a log line or a message by accident.
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A key from its 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> SecretKey {
        SecretKey(SigningKey::from_bytes(seed))
    }

    /// A fresh key drawn from `rng`.
    pub fn generate<R: rand_core::CryptoRngCore + ?Sized>(rng: &mut R) -> SecretKey {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        SecretKey::from_seed(&seed)
    }

    /// The 32-byte seed, for writing the key file.
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        self.0.verifying_key()
    }

    /// Signs `value` under its domain.
    pub fn sign<T: Serialize + Domain + ?Sized>(&self, value: &T) -> Signature {
        self.0.sign(&domain_bytes(value))
    }

    /// Signs raw bytes; used only where the bytes already are domain bytes.
    pub fn sign_raw(&self, bytes: &[u8]) -> Signature {
        self.0.sign(bytes)
    }

    /// The key's scalar `a` (public key `a·G`), for opening sub-shares sealed to this key.
    pub(crate) fn dh_scalar(&self) -> curve25519_dalek::scalar::Scalar {
        self.0.to_scalar()
    }
}

/// Verifies `sig` by `key` over `value` in its domain, strictly.
pub fn verify<T: Serialize + Domain + ?Sized>(
    key: &PublicKey,
    value: &T,
    sig: &Signature,
) -> Result<(), BadSignature> {
    key.verify_strict(&domain_bytes(value), sig)
        .map_err(|_| BadSignature)
}

/// Parses a public key from 64 hex digits.
pub fn public_key_from_hex(s: &str) -> Result<PublicKey, String> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(s.trim(), &mut bytes).map_err(|e| format!("not 64 hex digits: {e}"))?;
    PublicKey::from_bytes(&bytes).map_err(|_| "not a valid Ed25519 public key".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[derive(Serialize)]
    struct A(u8);
    impl Domain for A {
        const DOMAIN: &'static str = "test-a";
    }
    #[derive(Serialize)]
    struct B(u8);
    impl Domain for B {
        const DOMAIN: &'static str = "test-b";
    }

    #[test]
    fn a_signature_in_one_domain_does_not_verify_in_another() {
        let key = SecretKey::generate(&mut ChaCha20Rng::seed_from_u64(1));
        let sig = key.sign(&A(5));
        assert_eq!(verify(&key.public(), &A(5), &sig), Ok(()));
        assert_eq!(verify(&key.public(), &A(6), &sig), Err(BadSignature));
        assert_eq!(verify(&key.public(), &B(5), &sig), Err(BadSignature));
    }
}
