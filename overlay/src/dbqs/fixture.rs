//! Keys and credentials for simulations and tests: one fixed authority, clients allowed to
//! store for all time, and objects stored with their proofs.

use super::object::Version;
use super::provenance::{Content, ContentProof};
use crate::cert::{Capabilities, Certificate};
use crate::crypto::{PublicKey, SecretKey};
use crate::id::Hash;
use crate::time::Timestamp;

/// The authority every fixture credential is signed by.
pub fn authority() -> SecretKey {
    SecretKey::from_seed(&[0xA7; 32])
}

/// Its public key.
pub fn authority_key() -> PublicKey {
    authority().public()
}

/// `client`'s credential granting `put` and `get`, valid for all time.
pub fn credential(client: &SecretKey) -> Certificate {
    let caps = Capabilities {
        put: true,
        get: true,
        analyze: false,
    };
    let window = (Timestamp(0), Timestamp(u64::MAX));
    Certificate::client(&authority(), client.public(), "fixture", caps, window)
}

/// Version `number` of `name` signed by `owner`, with its credential.
pub fn version(owner: &SecretKey, name: &[u8], number: u64, value: Option<Vec<u8>>) -> Version {
    Version::sign(owner, name, number, value).with_credential(credential(owner))
}

/// `bytes` as stored by `client`.
pub fn content(client: &SecretKey, bytes: Vec<u8>) -> Content {
    Content::sign(client, credential(client), bytes)
}

/// `client`'s proof that it stores content object `id`.
pub fn proof(client: &SecretKey, id: Hash) -> ContentProof {
    ContentProof::sign(client, id, credential(client))
}

/// How many objects of each kind [`made_up_content`] and [`made_up_version`] give.
pub const MADE_UP: u8 = 24;

/// What a Byzantine replica that invents objects signs with: a key of its own, and a
/// credential for it from an authority of its own.
fn inventor() -> (SecretKey, Certificate) {
    let key = SecretKey::from_seed(&[0xE1; 32]);
    let caps = Capabilities {
        put: true,
        get: true,
        analyze: false,
    };
    let window = (Timestamp(0), Timestamp(u64::MAX));
    let fake_authority = SecretKey::from_seed(&[0xE2; 32]);
    let cert = Certificate::client(&fake_authority, key.public(), "made up", caps, window);
    (key, cert)
}

/// Content object `k` of those a Byzantine replica makes up: its hash is its id, its proof is
/// signed by a key no authority admitted.
pub fn made_up_content(k: u8) -> Content {
    let (key, cert) = inventor();
    Content::sign(&key, cert, vec![0xE3, k])
}

/// Keyed object `k` of those a Byzantine replica makes up: it verifies under the made-up key.
pub fn made_up_version(k: u8) -> Version {
    let (key, cert) = inventor();
    Version::sign(&key, &[0xE4, k], 7, Some(vec![k])).with_credential(cert)
}
