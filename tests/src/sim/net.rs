//! The simulated network: per message, whether it arrives, how often, and after how long.

use std::collections::BTreeSet;

use rand::Rng as _;

use super::Rng;

/// How the network misbehaves before GST (and how slow it is after).
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Smallest delivery delay.
    pub delay_min_ms: u64,
    /// Largest delivery delay in the common case.
    pub delay_max_ms: u64,
    /// Chance a message takes the long tail (before GST).
    pub tail_prob: f64,
    /// Largest delay on the long tail (before GST).
    pub tail_max_ms: u64,
    /// Chance a message is lost (before GST).
    pub drop_prob: f64,
    /// Chance a message is delivered twice (before GST).
    pub dup_prob: f64,
    /// Global stabilisation time: after it, no loss, duplicates, tails or partitions.
    pub gst_ms: u64,
}

/// The network between nodes `0..n`.
pub struct Network {
    /// Its behaviour.
    pub cfg: NetConfig,
    blocked: BTreeSet<(usize, usize)>,
}

impl Network {
    /// A fully connected network.
    pub fn new(cfg: NetConfig) -> Network {
        Network {
            cfg,
            blocked: BTreeSet::new(),
        }
    }

    /// Cuts both directions between `node` and every node in `others`.
    pub fn isolate(&mut self, node: usize, others: impl Iterator<Item = usize>) {
        for o in others {
            if o != node {
                self.blocked.insert((node, o));
                self.blocked.insert((o, node));
            }
        }
    }

    /// Removes every partition.
    pub fn heal(&mut self) {
        self.blocked.clear();
    }

    /// Whether any link is cut.
    pub fn partitioned(&self) -> bool {
        !self.blocked.is_empty()
    }

    /// The delays after which a message from `from` to `to` sent at `now` arrives: none if
    /// lost, two if duplicated.
    pub fn deliveries(&self, rng: &mut Rng, now: u64, from: usize, to: usize) -> Vec<u64> {
        let c = &self.cfg;
        let stable = now >= c.gst_ms;
        if !stable && (self.blocked.contains(&(from, to)) || rng.gen_bool(c.drop_prob)) {
            return vec![];
        }
        let copies = if !stable && rng.gen_bool(c.dup_prob) {
            2
        } else {
            1
        };
        (0..copies)
            .map(|_| {
                if !stable && rng.gen_bool(c.tail_prob) {
                    rng.gen_range(c.delay_max_ms..=c.tail_max_ms.max(c.delay_max_ms))
                } else {
                    rng.gen_range(c.delay_min_ms..=c.delay_max_ms)
                }
            })
            .collect()
    }
}
