//! What a client may do: store, read, or look at a node's analyser.

use serde::{Deserialize, Serialize};

/// One capability a client credential can grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Capability {
    /// Store and delete objects. Writing a keyed object also needs `Get`: a write first
    /// reads the object's current version from a quorum.
    Put,
    /// Read objects.
    Get,
    /// Read a node's status, metrics and dashboard remotely.
    Analyze,
}

impl Capability {
    /// The name used on the command line and in listings.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Put => "put",
            Capability::Get => "get",
            Capability::Analyze => "analyze",
        }
    }
}

/// A set of capabilities, stored as flags so the encoding has one form per set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Capabilities {
    /// May store and delete.
    pub put: bool,
    /// May read.
    pub get: bool,
    /// May analyse nodes remotely.
    pub analyze: bool,
}

impl Capabilities {
    /// Whether the set holds `cap`.
    pub fn allows(&self, cap: Capability) -> bool {
        match cap {
            Capability::Put => self.put,
            Capability::Get => self.get,
            Capability::Analyze => self.analyze,
        }
    }

    /// Parses a comma-separated list such as `put,get`.
    pub fn parse(list: &str) -> Result<Capabilities, String> {
        let mut caps = Capabilities::default();
        for word in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match word {
                "put" => caps.put = true,
                "get" => caps.get = true,
                "analyze" => caps.analyze = true,
                other => {
                    return Err(format!(
                        "unknown capability {other:?}: expected put, get or analyze"
                    ));
                }
            }
        }
        if caps == Capabilities::default() {
            return Err("no capability given: expected one or more of put, get, analyze".into());
        }
        Ok(caps)
    }
}

impl std::fmt::Display for Capabilities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = [Capability::Put, Capability::Get, Capability::Analyze]
            .into_iter()
            .filter(|c| self.allows(*c))
            .map(Capability::name)
            .collect();
        f.write_str(&names.join(","))
    }
}
