//! The event queue: events ordered by (time, insertion order), so equal times keep a
//! deterministic order.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

/// Events of type `E` scheduled at simulated times.
pub struct Scheduler<E> {
    now_ms: u64,
    next_id: u64,
    heap: BinaryHeap<Reverse<(u64, u64)>>,
    events: BTreeMap<u64, E>,
}

impl<E> Default for Scheduler<E> {
    fn default() -> Self {
        Scheduler {
            now_ms: 0,
            next_id: 0,
            heap: BinaryHeap::new(),
            events: BTreeMap::new(),
        }
    }
}

impl<E> Scheduler<E> {
    /// The current simulated time.
    pub fn now(&self) -> u64 {
        self.now_ms
    }

    /// Schedules `e` after `after_ms`.
    pub fn at(&mut self, after_ms: u64, e: E) {
        let id = self.next_id;
        self.next_id += 1;
        self.heap.push(Reverse((self.now_ms + after_ms, id)));
        self.events.insert(id, e);
    }

    /// The next event, advancing the clock to it.
    pub fn pop(&mut self) -> Option<E> {
        let Reverse((t, id)) = self.heap.pop()?;
        self.now_ms = t;
        self.events.remove(&id)
    }

    /// Number of scheduled events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}
