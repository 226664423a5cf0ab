//! The parameters of one PBFT instance.

use crate::crypto::PublicKey;
use crate::id::Hash;

use super::types::{ReplicaIdx, View};

/// Largest operation a request may carry.
pub const OP_BYTES_MAX: usize = 64 * 1024;
/// Largest encoded protocol message (a catch-up carries an application snapshot).
pub const MESSAGE_BYTES_MAX: usize = 128 * 1024 * 1024;

/// One PBFT instance: its replicas and its bounds. Every replica and client of the instance
/// holds the same value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Separates instances (e.g. the MS of one epoch from the next): part of every signature.
    pub instance: Hash,
    /// Replica keys, indexed by `ReplicaIdx`.
    pub replicas: Vec<PublicKey>,
    /// Faults tolerated; `replicas.len() >= 3f+1`.
    pub f: usize,
    /// A checkpoint every this many sequence numbers (K).
    pub checkpoint_interval: u64,
    /// Sequence numbers accepted above the stable checkpoint (L, the high watermark distance).
    pub log_window: u64,
    /// Most requests in one batch.
    pub batch_max: usize,
    /// Most batches a primary has proposed but not executed.
    pub pipeline_max: u64,
    /// Most requests waiting to be ordered.
    pub pending_max: usize,
    /// Base view-change timeout; doubles with each consecutive view change.
    pub view_change_timeout_ms: u64,
    /// Period of status messages (retransmission and catch-up).
    pub status_interval_ms: u64,
}

impl Config {
    /// A configuration with default bounds for `replicas` tolerating `f` faults.
    pub fn new(instance: Hash, replicas: Vec<PublicKey>, f: usize) -> Config {
        Config {
            instance,
            replicas,
            f,
            checkpoint_interval: 16,
            log_window: 64,
            batch_max: 64,
            pipeline_max: 4,
            pending_max: 4096,
            view_change_timeout_ms: 2000,
            status_interval_ms: 500,
        }
    }

    /// The PBFT instance of a configuration's MS group: its members in id order, f_ms, and
    /// an instance id bound to the configuration, so messages of one epoch's MS never count
    /// in another's.
    pub fn for_ms(config: &crate::config::Configuration) -> Config {
        let instance = Hash::of(&[b"rampart/v1/ms-pbft\0", &config.hash().0]);
        let replicas = config
            .ms_group
            .iter()
            .filter_map(|id| config.member(id))
            .map(|m| m.key)
            .collect();
        Config::new(instance, replicas, config.f_ms as usize)
    }

    /// The index of the replica holding `key`.
    pub fn index_of(&self, key: &PublicKey) -> Option<ReplicaIdx> {
        self.replicas
            .iter()
            .position(|k| k == key)
            .map(|i| ReplicaIdx(i as u32))
    }

    /// Number of replicas.
    pub fn n(&self) -> usize {
        self.replicas.len()
    }

    /// A quorum: 2f+1.
    pub fn quorum(&self) -> usize {
        2 * self.f + 1
    }

    /// The primary of view `v`.
    pub fn primary(&self, v: View) -> ReplicaIdx {
        ReplicaIdx((v.0 % self.n() as u64) as u32)
    }

    /// The key of replica `i`, if it exists.
    pub fn key(&self, i: ReplicaIdx) -> Option<&PublicKey> {
        self.replicas.get(i.0 as usize)
    }

    /// Checks the relations between the bounds.
    pub fn validate(&self) -> Result<(), String> {
        if self.replicas.len() < 3 * self.f + 1 {
            return Err(format!(
                "{} replicas cannot tolerate f={}",
                self.replicas.len(),
                self.f
            ));
        }
        if self.checkpoint_interval == 0 || self.log_window < 2 * self.checkpoint_interval {
            return Err("the log window must hold at least two checkpoint intervals".into());
        }
        if !self.log_window.is_multiple_of(self.checkpoint_interval) {
            return Err("the log window must be a multiple of the checkpoint interval".into());
        }
        if self.batch_max == 0 || self.pipeline_max == 0 || self.pipeline_max > self.log_window {
            return Err(
                "batch_max and pipeline_max must be positive, pipeline within the window".into(),
            );
        }
        Ok(())
    }
}
