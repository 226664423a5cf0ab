//! The admin's directory: the authority key, the registry, and issuing certificates.

use std::path::{Path, PathBuf};

use overlay::cert::{CertBody, CertContent, Certificate};
use overlay::crypto::{PublicKey, SecretKey};
use overlay::id::{ClientId, NodeId};
use overlay::time::Timestamp;

use crate::files::{FileError, Overwrite};
use crate::keyfile;
use crate::registry::{Record, Registry};

/// File name of the authority's secret key inside the admin directory.
pub const AUTHORITY_KEY: &str = "authority.key";
/// File name of the authority's public key.
pub const AUTHORITY_PUB: &str = "authority.pub";
/// File name of the registry.
pub const REGISTRY: &str = "registry.json";

/// Creates the authority key in `dir`; refuses if one is there.
pub fn init<R: rand::CryptoRng + rand::RngCore>(
    dir: &Path,
    rng: &mut R,
) -> Result<PublicKey, FileError> {
    let key_path = dir.join(AUTHORITY_KEY);
    if key_path.exists() {
        return Err(FileError::new(
            &key_path,
            "an authority key exists already; refusing to overwrite it",
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| FileError::new(dir, e.to_string()))?;
    let key = SecretKey::generate(rng);
    keyfile::write(&key_path, &key, Overwrite::Refuse)?;
    keyfile::write_public(&dir.join(AUTHORITY_PUB), &key.public(), Overwrite::Replace)?;
    Registry::default().save(&dir.join(REGISTRY))?;
    Ok(key.public())
}

/// An opened admin directory.
pub struct Admin {
    dir: PathBuf,
    key: SecretKey,
    /// What was issued so far.
    pub registry: Registry,
}

/// Extra registry fields that are not part of a certificate.
#[derive(Debug, Default, Clone)]
pub struct Notes {
    /// Contact details of a client.
    pub contact: Option<String>,
    /// Where the certificate or credential was written.
    pub file: String,
}

impl Admin {
    /// Opens `dir`, which `init` created.
    pub fn open(dir: &Path) -> Result<Admin, FileError> {
        let key_path = dir.join(AUTHORITY_KEY);
        if !key_path.exists() {
            return Err(FileError::new(
                &key_path,
                "no authority key here; run `rampart admin init` first or pass --admin-dir",
            ));
        }
        let key = keyfile::read(&key_path)?;
        let registry = Registry::load(&dir.join(REGISTRY))?;
        Ok(Admin {
            dir: dir.to_path_buf(),
            key,
            registry,
        })
    }

    /// The authority's secret key: it signs certificates and the requests that submit them.
    pub fn secret(&self) -> &SecretKey {
        &self.key
    }

    /// The authority's public key.
    pub fn public(&self) -> PublicKey {
        self.key.public()
    }

    /// Signs `body`, valid from `now` for `valid_secs`, and records it. The record is saved
    /// by [`Admin::save`] once the caller has written the certificate where it belongs.
    pub fn issue(
        &mut self,
        body: CertBody,
        now: Timestamp,
        not_after: Timestamp,
        notes: Notes,
    ) -> Certificate {
        let content = CertContent {
            body,
            issued_at: now,
            not_before: now,
            not_after,
        };
        let cert = Certificate::issue(&self.key, content);
        self.registry.records.push(record(&cert, notes));
        cert
    }

    /// Saves the registry.
    pub fn save(&self) -> Result<(), FileError> {
        self.registry.save(&self.dir.join(REGISTRY))
    }
}

fn record(cert: &Certificate, notes: Notes) -> Record {
    let c = &cert.content;
    let hexkey = |k: &PublicKey| Some(hex::encode(k.as_bytes()));
    let (subject, key, name, caps, addrs) = match &c.body {
        CertBody::Add { node, addrs } => (
            NodeId::of(node).to_string(),
            hexkey(node),
            None,
            None,
            addrs.clone(),
        ),
        CertBody::Remove { node } => (node.to_string(), None, None, None, vec![]),
        CertBody::Client { key, name, caps } => (
            ClientId::of(key).to_string(),
            hexkey(key),
            Some(name.clone()),
            Some(caps.to_string()),
            vec![],
        ),
        CertBody::Revoke { client } => (client.to_string(), None, None, None, vec![]),
    };
    Record {
        cert_id: cert.id().to_hex(),
        kind: c.body.kind().to_string(),
        subject,
        key,
        name,
        contact: notes.contact,
        caps,
        addrs,
        issued_at: c.issued_at.0,
        not_after: c.not_after.0,
        file: notes.file,
    }
}
