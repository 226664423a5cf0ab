//! Whom a replica gives data to in a transfer (listings and objects), decided alike on nodes
//! and in simulations: the members of its current configuration, and a node that was a member
//! of the epoch after the source asked about, removed since or not: it fetched the range for
//! that epoch and may still be finishing it, and others fetch from it in turn (the churn
//! simulation stalls without this). Anyone may ask whether ranges are held completely: a
//! removed node asks before it deletes.

use super::wire::Ask;
use crate::config::Configuration;
use crate::id::{Epoch, NodeId};

/// The configurations the rule looks at, as far as the answering replica knows them.
pub struct Known<'a> {
    /// Its current configuration.
    pub current: &'a Configuration,
    /// The configuration of an epoch, if still known.
    pub of: &'a dyn Fn(Epoch) -> Option<&'a Configuration>,
}

/// Whether `asker` may have the answer to `ask`.
pub fn may_ask(asker: &NodeId, ask: &Ask, known: &Known<'_>) -> Result<(), String> {
    let source = match ask {
        Ask::List { source, .. } | Ask::Get { source, .. } => *source,
        Ask::Complete { .. } => return Ok(()),
    };
    if known.current.member(asker).is_some() {
        return Ok(());
    }
    match (known.of)(source.next()) {
        Some(c) if c.member(asker).is_some() => Ok(()),
        Some(_) => Err(format!(
            "not a member of epoch {} or of epoch {} after the source",
            known.current.epoch.0,
            source.next().0
        )),
        None => Err(format!(
            "not a member of epoch {}, and epoch {} after the source is not known here",
            known.current.epoch.0,
            source.next().0
        )),
    }
}
