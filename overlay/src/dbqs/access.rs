//! Who may do what, checked by a replica before every request: the epoch first (the side that
//! is behind catches up), then the credential (the authority's signature, the key the
//! connection proved, expiry, the epoch's revocation list, the capability the operation
//! needs), then that the object is in one of this replica's ranges, then the value's layout.
//! A request that fails any check changes nothing.

use super::blob::Blob;
use super::object::{Version, content_id};
use super::provenance::{self, ContentProof};
use super::replica::{Refusal, Request};
use super::wire::StoreRequest;
use crate::cert::{Capability, CertBody, CertError};
use crate::config::Configuration;
use crate::crypto::PublicKey;
use crate::id::{ClientId, Hash, NodeId};
use crate::ring::Ring;
use crate::time::Timestamp;

/// What a replica checks requests against.
pub struct Gate<'a> {
    /// This replica.
    pub me: NodeId,
    /// Its current configuration.
    pub config: &'a Configuration,
    /// That configuration's ring.
    pub ring: &'a Ring,
    /// The authority that signs client credentials.
    pub authority: &'a PublicKey,
    /// The time now.
    pub now: Timestamp,
}

/// The object a request is about (its ring position).
pub fn object_of(req: &Request) -> Hash {
    match req {
        Request::Read { id } | Request::GetContent { id } => *id,
        Request::Write { version } => version.id(),
        Request::PutContent { bytes, .. } => content_id(bytes),
    }
}

impl Gate<'_> {
    /// Checks `msg`, sent over a connection authenticated as `peer_key`. `known` says whether
    /// a certificate (by id) had its authority signature verified before (the host caches
    /// that; expiry and revocation are checked every time). Returns the client's key.
    pub fn admit(
        &self,
        msg: &StoreRequest,
        peer_key: Option<&PublicKey>,
        known: &dyn Fn(&Hash) -> bool,
    ) -> Result<PublicKey, Refusal> {
        let sig_known_good = known(&msg.credential.id());
        let current = self.config.epoch;
        if msg.epoch < current {
            return Err(Refusal::StaleEpoch {
                client: msg.epoch,
                current,
            });
        }
        if msg.epoch > current {
            return Err(Refusal::ReplicaBehind {
                client: msg.epoch,
                current,
            });
        }
        let (key, caps) = self.credential(&msg.credential, peer_key, sig_known_good)?;
        self.not_revoked(&key)?;
        let need = match &msg.req {
            Request::Read { .. } | Request::GetContent { .. } => Capability::Get,
            Request::PutContent { .. } => Capability::Put,
            // Writing back a version another owner signed is part of a read.
            Request::Write { version } if version.stamp.owner != key => Capability::Get,
            Request::Write { .. } => Capability::Put,
        };
        if !caps.allows(need) {
            return Err(Refusal::Denied(format!(
                "the credential does not grant `{}`",
                need.name()
            )));
        }
        if let Request::Write { version } = &msg.req {
            self.owner_may_store(version, known)?;
            let owner = ClientId::of(&version.stamp.owner);
            if self.config.revoked.contains_key(&owner) {
                return Err(Refusal::Denied(format!(
                    "the version's owner {} is revoked",
                    owner.0.short()
                )));
            }
            if let Some(v) = &version.value {
                Blob::from_bytes(v).map_err(Refusal::BadVersion)?;
            }
        }
        if let Request::PutContent { bytes, proof } = &msg.req {
            self.content_proof(bytes, proof, known)?;
        }
        let object = object_of(&msg.req);
        if !self.ring.replica_group(&object).contains(&self.me) {
            return Err(Refusal::NotHeld(object));
        }
        Ok(key)
    }

    /// Checks an analyst's credential (for a node's status from afar, `rampart analyze`, or
    /// the HTTP analyser from another host): signed by the authority, for the key the
    /// connection proved (or that signed the token), valid now, not revoked, granting
    /// `analyze`.
    pub fn admit_analyst(
        &self,
        cert: &crate::cert::Certificate,
        peer_key: Option<&PublicKey>,
    ) -> Result<PublicKey, Refusal> {
        let (key, caps) = self.credential(cert, peer_key, false)?;
        self.not_revoked(&key)?;
        if !caps.allows(Capability::Analyze) {
            return Err(Refusal::Denied(format!(
                "the credential does not grant `{}`",
                Capability::Analyze.name()
            )));
        }
        Ok(key)
    }

    fn not_revoked(&self, key: &PublicKey) -> Result<(), Refusal> {
        let id = ClientId::of(key);
        if self.config.revoked.contains_key(&id) {
            return Err(Refusal::Denied(format!(
                "client {} is revoked as of epoch {}",
                id.0.short(),
                self.config.epoch
            )));
        }
        Ok(())
    }

    fn credential(
        &self,
        cert: &crate::cert::Certificate,
        peer_key: Option<&PublicKey>,
        sig_known_good: bool,
    ) -> Result<(PublicKey, crate::cert::Capabilities), Refusal> {
        let body = if sig_known_good && cert.authority == *self.authority {
            window(cert, self.now)?;
            &cert.content.body
        } else {
            cert.verify(self.authority, self.now).map_err(|e| match e {
                CertError::Expired { .. } | CertError::NotYetValid { .. } => {
                    Refusal::Denied(format!("credential {e}"))
                }
                other => Refusal::BadCredential(other.to_string()),
            })?
        };
        let CertBody::Client { key, caps, .. } = body else {
            return Err(Refusal::BadCredential(format!(
                "a {} certificate, not a client credential",
                body.kind()
            )));
        };
        if peer_key.is_none_or(|p| p != key) {
            return Err(Refusal::BadCredential(
                "the credential names another key than the connection's".into(),
            ));
        }
        Ok((*key, *caps))
    }
}

impl Gate<'_> {
    /// A version must carry its owner's credential granting `put`, so that a reader writing
    /// it back cannot store for a key that is no client's. Its expiry is not checked: a
    /// version written while the owner's credential was valid stays readable (and so must
    /// stay writable back) after it expires; revocation is checked by the caller.
    fn owner_may_store(
        &self,
        version: &Version,
        known: &dyn Fn(&Hash) -> bool,
    ) -> Result<(), Refusal> {
        let cert = version.credential.as_deref();
        let sig_known = cert.is_some_and(|c| known(&c.id()));
        provenance::may_store(&version.stamp.owner, cert, self.authority, sig_known)
    }

    /// A content object must carry the signature of a client allowed to store over its
    /// id, so that a transfer can tell it from one an old replica made up.
    fn content_proof(
        &self,
        bytes: &[u8],
        proof: &ContentProof,
        known: &dyn Fn(&Hash) -> bool,
    ) -> Result<(), Refusal> {
        let sig_known = known(&proof.credential.id());
        provenance::check_proof(proof, &content_id(bytes), self.authority, sig_known)
    }
}

fn window(cert: &crate::cert::Certificate, now: Timestamp) -> Result<(), Refusal> {
    let c = &cert.content;
    if now > c.not_after {
        return Err(Refusal::Denied(format!(
            "credential expired at {} (now {now})",
            c.not_after
        )));
    }
    if now < c.not_before {
        return Err(Refusal::Denied(format!(
            "credential not valid before {} (now {now})",
            c.not_before
        )));
    }
    Ok(())
}
