//! Bytes of answers a node sends to peers that are not members (configurations, past
//! configurations, the MS state): a budget per peer and one for all of them together, so that
//! a small question cannot keep the node busy sending large answers, and a thousand made-up
//! identities together get no more than one budget. Members are answered without it: they
//! are bounded by the configuration, and catching up is how they stay members.

use super::rate::{Rate, RateLimits};
use crate::constants::{
    OUTSIDER_ANSWER_BURST_KIB, OUTSIDER_ANSWER_KIB_PER_SECOND, OUTSIDERS_ANSWER_BURST_KIB,
    OUTSIDERS_ANSWER_KIB_PER_SECOND, RATE_PARTIES_MAX,
};

/// The budgets, in KiB.
#[derive(Debug, Clone)]
pub struct AnswerBudget<K: Ord> {
    each: Rate<K>,
    all: Rate<()>,
}

impl<K: Ord + Clone> Default for AnswerBudget<K> {
    fn default() -> AnswerBudget<K> {
        AnswerBudget {
            each: Rate::new(RateLimits {
                per_second: OUTSIDER_ANSWER_KIB_PER_SECOND,
                burst: OUTSIDER_ANSWER_BURST_KIB,
                parties_max: RATE_PARTIES_MAX,
            }),
            all: Rate::new(RateLimits {
                per_second: OUTSIDERS_ANSWER_KIB_PER_SECOND,
                burst: OUTSIDERS_ANSWER_BURST_KIB,
                parties_max: 1,
            }),
        }
    }
}

impl<K: Ord + Clone> AnswerBudget<K> {
    /// Whether an answer of `bytes` may go to `peer` at `now_ms`; a refusal is counted. The
    /// peer's own budget is asked first, so a peer past its share spends none of the shared one.
    pub fn allow(&mut self, peer: &K, bytes: usize, now_ms: u64) -> bool {
        let kib = (bytes as u64).div_ceil(1024);
        self.each.allow_n(peer, kib, now_ms) && self.all.allow_n(&(), kib, now_ms)
    }

    /// Answers refused so far.
    pub fn refused(&self) -> u64 {
        self.each.refused() + self.all.refused()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1024 * 1024;

    #[test]
    fn a_peer_gets_its_burst_then_its_rate_and_others_keep_theirs() {
        let mut b = AnswerBudget::<u32>::default();
        let burst = OUTSIDER_ANSWER_BURST_KIB as usize * 1024;
        assert!(b.allow(&1, burst, 0));
        assert!(!b.allow(&1, MIB, 0), "the burst is spent");
        assert_eq!(b.refused(), 1);
        assert!(b.allow(&2, MIB, 0), "another peer has its own budget");
        let one_sec = OUTSIDER_ANSWER_KIB_PER_SECOND as usize * 1024;
        assert!(
            b.allow(&1, one_sec, 1_000),
            "a second later, a second's worth"
        );
        assert!(!b.allow(&1, 1, 1_000));
    }

    #[test]
    fn an_answer_larger_than_a_burst_waits_for_a_full_bucket() {
        let mut b = AnswerBudget::<u32>::default();
        assert!(b.allow(&1, 1024 * MIB, 0), "a full bucket pays for it");
        assert!(!b.allow(&1, 1024 * MIB, 1), "then it waits");
    }

    #[test]
    fn many_identities_together_get_one_shared_budget() {
        let mut b = AnswerBudget::<u32>::default();
        let each = OUTSIDER_ANSWER_BURST_KIB as usize * 1024;
        let fit = OUTSIDERS_ANSWER_BURST_KIB / OUTSIDER_ANSWER_BURST_KIB;
        for peer in 0..fit {
            assert!(b.allow(&peer, each, 0), "peer {peer}");
        }
        for peer in fit..fit + 100 {
            assert!(
                !b.allow(&peer, each, 0),
                "peer {peer} is past the shared budget"
            );
        }
    }
}
