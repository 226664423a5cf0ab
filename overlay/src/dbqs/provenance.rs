//! Who stored an object, as a proof anyone can check: a keyed version carries its owner's
//! credential beside the owner's signature; a content object carries the signature of the
//! client that stored it over its id, with that client's credential. A replica keeps the
//! proof with the object, and a new replica takes nothing from a transfer without it, so a
//! Byzantine old replica cannot make up objects (it holds no client's key) and can only
//! hand over what a client allowed to store did store.
//!
//! Expiry and revocation are not checked here: what a client stored while its credential
//! was valid stays stored (and transferable) after the credential lapses.

use serde::{Deserialize, Serialize};

use super::object::{Version, content_id};
use super::replica::Refusal;
use crate::cert::{Capability, CertBody, Certificate};
use crate::crypto::{self, PublicKey, SecretKey, Signature};
use crate::encoding::Domain;
use crate::id::Hash;

/// What a client signs to store a content object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentStamp {
    /// The content object's id.
    pub id: Hash,
}

impl Domain for ContentStamp {
    const DOMAIN: &'static str = "dbqs-content";
}

/// The proof that a client allowed to store put a content object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentProof {
    /// The client's key.
    pub owner: PublicKey,
    /// Its signature over the object's [`ContentStamp`].
    pub sig: Signature,
    /// Its credential, which must grant `put`.
    pub credential: Box<Certificate>,
}

impl ContentProof {
    /// `owner`'s proof that it stores content object `id`.
    pub fn sign(owner: &SecretKey, id: Hash, credential: Certificate) -> ContentProof {
        ContentProof {
            owner: owner.public(),
            sig: owner.sign(&ContentStamp { id }),
            credential: Box::new(credential),
        }
    }
}

/// A content object as replicas keep and serve it: its bytes and who stored them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Content {
    /// The bytes; their hash is the id.
    pub bytes: Vec<u8>,
    /// Who stored them.
    pub proof: ContentProof,
}

impl Content {
    /// `bytes`, stored by `owner` under `credential`.
    pub fn sign(owner: &SecretKey, credential: Certificate, bytes: Vec<u8>) -> Content {
        let proof = ContentProof::sign(owner, content_id(&bytes), credential);
        Content { bytes, proof }
    }

    /// The object's id.
    pub fn id(&self) -> Hash {
        content_id(&self.bytes)
    }
}

/// Checks that `cert`, signed by `authority` (its signature is checked unless `sig_known`),
/// is `owner`'s credential granting `put`.
pub fn may_store(
    owner: &PublicKey,
    cert: Option<&Certificate>,
    authority: &PublicKey,
    sig_known: bool,
) -> Result<(), Refusal> {
    let Some(cert) = cert else {
        return Err(Refusal::BadCredential(
            "the object carries no credential of the client that stored it".into(),
        ));
    };
    if cert.authority != *authority {
        return Err(Refusal::BadCredential(
            "the object's credential is not signed by this system's authority".into(),
        ));
    }
    if !sig_known {
        crypto::verify(authority, &cert.content, &cert.signature).map_err(|_| {
            Refusal::BadCredential("the object's credential has a bad signature".into())
        })?;
    }
    match &cert.content.body {
        CertBody::Client { key, caps, .. } if key == owner => match caps.allows(Capability::Put) {
            true => Ok(()),
            false => Err(Refusal::Denied(
                "the client that stored the object may not store (no `put`)".into(),
            )),
        },
        _ => Err(Refusal::BadCredential(
            "the object's credential is not the storing client's".into(),
        )),
    }
}

/// Checks a content proof for object `id`, the credential's signature unless `sig_known`.
pub fn check_proof(
    proof: &ContentProof,
    id: &Hash,
    authority: &PublicKey,
    sig_known: bool,
) -> Result<(), Refusal> {
    crypto::verify(&proof.owner, &ContentStamp { id: *id }, &proof.sig).map_err(|_| {
        Refusal::BadCredential("the content's storing signature does not verify".into())
    })?;
    may_store(&proof.owner, Some(&proof.credential), authority, sig_known)
}

/// Checks a content object received as object `id`: its hash and its proof.
pub fn check_content(c: &Content, id: &Hash, authority: &PublicKey) -> Result<(), Refusal> {
    if c.id() != *id {
        return Err(Refusal::BadVersion(
            "content whose hash is not its id".into(),
        ));
    }
    check_proof(&c.proof, id, authority, false)
}

/// Checks a version received as one of object `id`: the owner's signature and credential.
pub fn check_version(v: &Version, id: &Hash, authority: &PublicKey) -> Result<(), Refusal> {
    v.verify_for(id)?;
    may_store(&v.stamp.owner, v.credential.as_deref(), authority, false)
}
