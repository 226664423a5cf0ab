//! Analyser tokens revoked one by one before they expire (`POST /logout` with the token).
//! Only the holder of a valid token can revoke it, so only admitted analysts add entries;
//! each credential gets a share of the table, and entries leave when their token would have
//! expired anyway (a token lasts at most an hour), so the table stays small.

use std::collections::BTreeMap;

use super::AnalystToken;
use crate::constants::{ANALYST_REVOKED_MAX, ANALYST_REVOKED_PER_CREDENTIAL};
use crate::id::Hash;
use crate::time::Timestamp;

/// The revoked tokens a node keeps.
#[derive(Debug, Default)]
pub struct Revoked {
    /// Token id → (the credential it carries, when it expires).
    tokens: BTreeMap<Hash, (Hash, Timestamp)>,
    /// Entries per credential.
    per_credential: BTreeMap<Hash, usize>,
}

impl Revoked {
    /// Whether the token named `id` was revoked.
    pub fn contains(&self, id: &Hash) -> bool {
        self.tokens.contains_key(id)
    }

    /// Tokens kept.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Revokes `token`, already checked valid at `now`.
    pub fn revoke(&mut self, token: &AnalystToken, now: Timestamp) -> Result<(), String> {
        self.forget_expired(now);
        let id = token.id();
        if self.tokens.contains_key(&id) {
            return Ok(());
        }
        let owner = token.credential.id();
        let mine = self.per_credential.get(&owner).copied().unwrap_or(0);
        if mine >= ANALYST_REVOKED_PER_CREDENTIAL {
            return Err(format!(
                "this credential already has {mine} revoked tokens that have not expired; wait for them to expire"
            ));
        }
        if self.tokens.len() >= ANALYST_REVOKED_MAX {
            return Err("too many revoked tokens here; try again once some expire".into());
        }
        self.tokens.insert(id, (owner, token.not_after));
        *self.per_credential.entry(owner).or_default() += 1;
        Ok(())
    }

    /// Drops tokens that expired: they are refused as expired anyway.
    fn forget_expired(&mut self, now: Timestamp) {
        let per = &mut self.per_credential;
        self.tokens.retain(|_, (owner, not_after)| {
            let keep = *not_after >= now;
            if !keep && let Some(n) = per.get_mut(owner) {
                *n -= 1;
                if *n == 0 {
                    per.remove(owner);
                }
            }
            keep
        });
    }
}
