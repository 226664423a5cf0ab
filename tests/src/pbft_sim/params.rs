//! The shape of one simulated run, drawn from its seed.

use rand::Rng as _;
use rand::seq::SliceRandom;

use crate::byzantine::pbft::{ALL, Behaviour};
use crate::sim::{self, NetConfig};

/// Everything that varies between runs.
#[derive(Debug, Clone)]
pub struct Params {
    /// Replicas.
    pub n: usize,
    /// Faults tolerated.
    pub f: usize,
    /// Byzantine replicas and what they do (at most f).
    pub byzantine: Vec<(usize, Behaviour)>,
    /// Clients.
    pub clients: usize,
    /// Requests each client makes, one after another.
    pub requests: usize,
    /// The network.
    pub net: NetConfig,
    /// Crash and restart correct replicas before GST.
    pub crashes: bool,
    /// Isolate replicas for a while before GST.
    pub partitions: bool,
    /// Liveness deadline: every request must be done by then.
    pub end_ms: u64,
}

impl Params {
    /// The parameters of run `seed` with `n` replicas tolerating `f` faults.
    pub fn draw(seed: u64, n: usize, f: usize) -> Params {
        let mut rng = sim::rng(seed ^ 0x9e37_79b9_7f4a_7c15);
        let mut ids: Vec<usize> = (0..n).collect();
        ids.shuffle(&mut rng);
        let liars = rng.gen_range(0..=f);
        let byzantine = ids[..liars]
            .iter()
            .map(|i| (*i, *ALL.choose(&mut rng).unwrap_or(&Behaviour::Silent)))
            .collect();
        let gst_ms = rng.gen_range(1_000..6_000);
        let net = NetConfig {
            delay_min_ms: 1,
            delay_max_ms: rng.gen_range(5..30),
            tail_prob: 0.02,
            tail_max_ms: 400,
            drop_prob: *[0.0, 0.01, 0.05, 0.1].choose(&mut rng).unwrap_or(&0.0),
            dup_prob: *[0.0, 0.02, 0.05].choose(&mut rng).unwrap_or(&0.0),
            gst_ms,
        };
        Params {
            n,
            f,
            byzantine,
            clients: rng.gen_range(2..=3),
            requests: rng.gen_range(4..=8),
            net,
            crashes: rng.gen_bool(0.3),
            partitions: rng.gen_bool(0.3),
            end_ms: gst_ms + 60_000,
        }
    }
}
