//! A deterministic simulator core, shared by every protocol's simulation: one thread, a
//! seeded RNG, a simulated millisecond clock, an event queue, and a network model with
//! delays, drops, duplicates, reordering and partitions that all stop at the global
//! stabilisation time (GST). The same seed always gives the same run.

mod net;
mod scheduler;

pub use net::{NetConfig, Network};
pub use scheduler::Scheduler;

use rand::SeedableRng;

/// The simulator's RNG: ChaCha8, seeded per run.
pub type Rng = rand_chacha::ChaCha8Rng;

/// The RNG of run `seed`.
pub fn rng(seed: u64) -> Rng {
    Rng::seed_from_u64(seed)
}

/// The seed to replay from the environment variable `var`, if set.
pub fn replay_seed(var: &str) -> Option<u64> {
    std::env::var(var).ok().and_then(|s| s.parse().ok())
}
