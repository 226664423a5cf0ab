//! The admin's local registry of what was issued (the seed's "list of users"), kept as JSON
//! beside the authority key. Listings derive each subject's state from the records: a node is
//! removed once a removal was issued for it, a client revoked once a revocation was.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::files::{self, FileError, Overwrite};

const REGISTRY_BYTES_MAX: usize = 64 * 1024 * 1024;

/// One issued certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The certificate's id (hex).
    pub cert_id: String,
    /// `add`, `remove`, `client` or `revoke`.
    pub kind: String,
    /// The node id or client id the certificate is about (hex).
    pub subject: String,
    /// The subject's public key (hex), where the certificate names one.
    pub key: Option<String>,
    /// A client's name.
    pub name: Option<String>,
    /// Contact details the admin keeps for a client (not in the certificate).
    pub contact: Option<String>,
    /// A client's capabilities.
    pub caps: Option<String>,
    /// A node's addresses.
    pub addrs: Vec<String>,
    /// Issue time, Unix seconds.
    pub issued_at: u64,
    /// End of validity, Unix seconds.
    pub not_after: u64,
    /// Where the certificate or credential was written.
    pub file: String,
}

/// All records, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registry {
    /// The records.
    pub records: Vec<Record>,
}

/// A subject's current state, derived from the records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The latest admission or credential for the subject.
    pub record: Record,
    /// `active`, `expired`, `removed` or `revoked`.
    pub state: &'static str,
}

impl Registry {
    /// Loads the registry; a missing file is an empty registry.
    pub fn load(path: &Path) -> Result<Registry, FileError> {
        if !path.exists() {
            return Ok(Registry::default());
        }
        let bytes = files::read_bounded(path, REGISTRY_BYTES_MAX)?;
        Registry::parse(&bytes).map_err(|reason| FileError::new(path, reason))
    }

    /// Decodes the bytes of a registry file. The error is the reason, without the file name.
    pub fn parse(bytes: &[u8]) -> Result<Registry, String> {
        files::check_len(bytes, REGISTRY_BYTES_MAX)?;
        serde_json::from_slice(bytes).map_err(|e| format!("bad JSON: {e}"))
    }

    /// Saves it atomically.
    pub fn save(&self, path: &Path) -> Result<(), FileError> {
        let text = serde_json::to_vec_pretty(self)
            .map_err(|e| FileError::new(path, format!("cannot encode: {e}")))?;
        files::write_public(path, &text, Overwrite::Replace)
    }

    /// The latest record for `subject` of `kind`.
    pub fn latest(&self, kind: &str, subject: &str) -> Option<&Record> {
        self.records
            .iter()
            .rev()
            .find(|r| r.kind == kind && r.subject == subject)
    }

    /// Finds a client by name or by id prefix; errors if none or several match.
    pub fn find_client(&self, who: &str) -> Result<&Record, String> {
        let mut hits: Vec<&Record> = Vec::new();
        for r in self.records.iter().rev().filter(|r| r.kind == "client") {
            let matches =
                r.name.as_deref() == Some(who) || (who.len() >= 8 && r.subject.starts_with(who));
            if matches && !hits.iter().any(|h| h.subject == r.subject) {
                hits.push(r);
            }
        }
        match hits.len() {
            0 => Err(format!(
                "no client named or with id {who:?} in the registry"
            )),
            1 => Ok(hits[0]),
            n => Err(format!(
                "{n} clients match {who:?}; give the client id instead"
            )),
        }
    }

    /// Nodes admitted, with their state at `now`.
    pub fn nodes(&self, now: u64) -> Vec<Listing> {
        self.listing("add", "remove", "removed", now)
    }

    /// Clients registered, with their state at `now`.
    pub fn clients(&self, now: u64) -> Vec<Listing> {
        self.listing("client", "revoke", "revoked", now)
    }

    fn listing(&self, kind: &str, undo: &str, undone: &'static str, now: u64) -> Vec<Listing> {
        let mut subjects: Vec<&str> = Vec::new();
        for r in self.records.iter().filter(|r| r.kind == kind) {
            if !subjects.contains(&r.subject.as_str()) {
                subjects.push(&r.subject);
            }
        }
        subjects
            .into_iter()
            .filter_map(|s| {
                let record = self.latest(kind, s)?.clone();
                let state = if self.latest(undo, s).is_some() {
                    undone
                } else if kind == "client" && record.not_after < now {
                    "expired"
                } else {
                    "active"
                };
                Some(Listing { record, state })
            })
            .collect()
    }
}
