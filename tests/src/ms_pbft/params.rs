//! The shape of one run, drawn from its seed.

use rand::Rng as _;
use rand::seq::SliceRandom;

use crate::byzantine::pbft::{self, Behaviour};
use crate::ms_sim::Fault;
use crate::sim::{self, NetConfig};

/// Every MS-level lie a Byzantine node may tell.
pub const FAULTS: [Fault; 4] = [
    Fault::LyingDealer,
    Fault::FalseComplainer,
    Fault::BadShares,
    Fault::Silent,
];

/// Everything that varies between runs.
#[derive(Debug, Clone)]
pub struct Params {
    /// Members at genesis.
    pub members: usize,
    /// The Byzantine node's PBFT and MS behaviour (it is in the genesis MS group).
    pub byzantine: Option<(Behaviour, Fault)>,
    /// The Byzantine node also signs two conflicting statements, which a correct node reports.
    pub equivocates: bool,
    /// Rounds of admin changes; each waits for the previous epoch to be certified.
    pub rounds: usize,
    /// The network.
    pub net: NetConfig,
    /// Crash and restart one correct node (possibly an MS replica) before GST.
    pub crashes: bool,
    /// Isolate nodes for a while before GST.
    pub partitions: bool,
    /// One correct node outside the MS group dies for good and must be evicted.
    pub dies: bool,
    /// Liveness deadline.
    pub end_ms: u64,
}

impl Params {
    /// The parameters of run `seed`.
    pub fn draw(seed: u64) -> Params {
        let mut rng = sim::rng(seed ^ 0x5bd1_e995_0c0f_fee5);
        let byzantine = rng.gen_bool(0.85).then(|| {
            let b = *pbft::ALL.choose(&mut rng).unwrap_or(&Behaviour::Silent);
            // A silent PBFT replica is silent in the MS too.
            let f = if b == Behaviour::Silent {
                Fault::Silent
            } else {
                *FAULTS.choose(&mut rng).unwrap_or(&Fault::Silent)
            };
            (b, f)
        });
        let gst_ms = rng.gen_range(1_000..5_000);
        let net = NetConfig {
            delay_min_ms: 1,
            delay_max_ms: rng.gen_range(5..25),
            tail_prob: 0.02,
            tail_max_ms: 300,
            drop_prob: *[0.0, 0.01, 0.05].choose(&mut rng).unwrap_or(&0.0),
            dup_prob: *[0.0, 0.02].choose(&mut rng).unwrap_or(&0.0),
            gst_ms,
        };
        Params {
            members: rng.gen_range(6..=8),
            equivocates: byzantine.is_some() && rng.gen_bool(0.3),
            byzantine,
            rounds: rng.gen_range(3..=4),
            net,
            crashes: rng.gen_bool(0.4),
            partitions: rng.gen_bool(0.4),
            // A node that dies is a fault of its own: with a Byzantine one too, a group that
            // drew both would hold f_ms+1 faults.
            dies: byzantine.is_none() && rng.gen_bool(0.6),
            end_ms: gst_ms + 90_000,
        }
    }
}
