//! What a node takes from whom: bounded tables with a share per remote party and room kept
//! for the node's own work, and per-party rates. The host keys them by what it authenticated
//! (a signer, a peer id, an IP address) and asks before it allocates; every refusal is
//! counted, and nothing else changes.

mod answers;
mod rate;
mod shares;

pub use answers::AnswerBudget;
pub use rate::{Rate, RateLimits};
pub use shares::{Class, Refusal, ShareLimits, Shares};

#[cfg(test)]
mod tests;
