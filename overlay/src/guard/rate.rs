//! Requests per second per party, as token buckets refilled by the time the host passes in.

use std::collections::BTreeMap;

/// The bounds of a rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Requests one party may make per second, on average.
    pub per_second: u32,
    /// Requests one party may make at once after being quiet.
    pub burst: u32,
    /// Parties tracked at once: past this, new parties are refused until some bucket has
    /// refilled (a full bucket says nothing and is dropped), so a thousand made-up identities
    /// cost the table no more than this.
    pub parties_max: usize,
}

/// Tokens are counted in thousandths so that slow rates refill smoothly.
const MILLI: u64 = 1_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    milli_tokens: u64,
    at_ms: u64,
}

/// Token buckets per party.
#[derive(Debug, Clone)]
pub struct Rate<K: Ord> {
    buckets: BTreeMap<K, Bucket>,
    limits: RateLimits,
    refused: u64,
}

impl<K: Ord + Clone> Rate<K> {
    /// No party has asked yet.
    pub fn new(limits: RateLimits) -> Rate<K> {
        Rate {
            buckets: BTreeMap::new(),
            limits,
            refused: 0,
        }
    }

    /// Whether `party` may make one request at `now_ms` (the host's monotonic clock); a
    /// refusal is counted.
    pub fn allow(&mut self, party: &K, now_ms: u64) -> bool {
        self.allow_n(party, 1, now_ms)
    }

    /// Whether `party` may spend `n` tokens at `now_ms`; more than a burst costs a whole
    /// burst (so a large request waits for a full bucket instead of never passing).
    pub fn allow_n(&mut self, party: &K, n: u64, now_ms: u64) -> bool {
        let full = u64::from(self.limits.burst) * MILLI;
        let cost = n.saturating_mul(MILLI).min(full).max(1);
        if !self.buckets.contains_key(party) && self.buckets.len() >= self.limits.parties_max {
            self.forget_refilled(now_ms);
        }
        if !self.buckets.contains_key(party) && self.buckets.len() >= self.limits.parties_max {
            self.refused += 1;
            return false;
        }
        let per_second = u64::from(self.limits.per_second);
        let b = self.buckets.entry(party.clone()).or_insert(Bucket {
            milli_tokens: full,
            at_ms: now_ms,
        });
        let elapsed = now_ms.saturating_sub(b.at_ms);
        b.milli_tokens = (b.milli_tokens + elapsed.saturating_mul(per_second)).min(full);
        b.at_ms = b.at_ms.max(now_ms);
        if b.milli_tokens < cost {
            self.refused += 1;
            return false;
        }
        b.milli_tokens -= cost;
        true
    }

    fn forget_refilled(&mut self, now_ms: u64) {
        let full = u64::from(self.limits.burst) * MILLI;
        let per_second = u64::from(self.limits.per_second);
        self.buckets.retain(|_, b| {
            let elapsed = now_ms.saturating_sub(b.at_ms);
            b.milli_tokens + elapsed.saturating_mul(per_second) < full
        });
    }

    /// Parties tracked now.
    pub fn parties(&self) -> usize {
        self.buckets.len()
    }

    /// Refusals so far.
    pub fn refused(&self) -> u64 {
        self.refused
    }
}
