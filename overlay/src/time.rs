//! Wall-clock time as an input: seconds since the Unix epoch, handed in by the caller.

use serde::{Deserialize, Serialize};

/// Seconds since 1970-01-01T00:00:00Z. The overlay never reads a clock; callers pass this in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// This time plus `secs` seconds, saturating at the end of time.
    pub fn plus_secs(self, secs: u64) -> Timestamp {
        Timestamp(self.0.saturating_add(secs))
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}
