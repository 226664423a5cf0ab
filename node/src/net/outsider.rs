//! A node that is not a replica of the current MS instance but may be named in the next MS
//! group. It cannot read the handover from a replica of its own, so it asks the old replicas
//! and acts on what f_ms+1 of them report identically (correct replicas execute the same
//! operations, so their views meet): it checks its sealed values and reports (as a PBFT client
//! of the old instance), builds its share when the handover completes, and then starts the
//! next instance from the state f_ms+1 old replicas hand it, identically.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::PeerId;
use overlay::encoding::encode;
use overlay::id::Hash;
use overlay::ms::Handover;
use overlay::ms::driver::Driver;

/// How often an outsider asks the MS replicas for their view of the handover.
pub const ASK_EVERY: Duration = Duration::from_millis(500);

/// What the outsider has heard.
pub struct Outsider {
    driver: Driver,
    views: HashMap<PeerId, Hash>,
    by_hash: HashMap<Hash, Handover>,
    states: HashMap<PeerId, Hash>,
    last_ask: Option<Instant>,
}

impl Outsider {
    /// An outsider deciding with `driver`.
    pub fn new(driver: Driver) -> Outsider {
        Outsider {
            driver,
            views: HashMap::new(),
            by_hash: HashMap::new(),
            states: HashMap::new(),
            last_ask: None,
        }
    }

    /// Its driver.
    pub fn driver(&mut self) -> &mut Driver {
        &mut self.driver
    }

    /// Whether it is time to ask again.
    pub fn due(&mut self, now: Instant) -> bool {
        if self.last_ask.is_some_and(|t| now < t + ASK_EVERY) {
            return false;
        }
        self.last_ask = Some(now);
        true
    }

    /// `peer` reported `view`; the view `need` replicas report identically, if there is one.
    pub fn on_view(
        &mut self,
        peer: PeerId,
        view: Option<Handover>,
        need: usize,
    ) -> Option<Handover> {
        let view = view?;
        let h = Hash::of(&[&encode(&view)]);
        self.views.insert(peer, h);
        self.by_hash.entry(h).or_insert(view);
        // Forget views nobody reports any more.
        let live: Vec<Hash> = self.views.values().copied().collect();
        self.by_hash.retain(|k, _| live.contains(k));
        let count = self.views.values().filter(|v| **v == h).count();
        (count >= need)
            .then(|| self.by_hash.get(&h).cloned())
            .flatten()
    }

    /// `peer` sent the handed-over state `bytes`; true once `need` peers sent the same.
    pub fn on_state(&mut self, peer: PeerId, bytes: &[u8], need: usize) -> bool {
        let h = Hash::of(&[bytes]);
        self.states.insert(peer, h);
        self.states.values().filter(|v| **v == h).count() >= need
    }

    /// Asks at the next tick (the epoch changed).
    pub fn ask_soon(&mut self) {
        self.last_ask = None;
    }

    /// Starts over (after joining the next instance, or when the epoch moved on).
    pub fn reset(&mut self) {
        self.views.clear();
        self.by_hash.clear();
        self.states.clear();
    }
}
