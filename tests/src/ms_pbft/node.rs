//! One simulated node: its key, its driver, the PBFT instances it is a replica of, its PBFT
//! clients, and what it survives a crash with (PBFT records and its share, as on disk).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use overlay::config::Configuration;
use overlay::crypto::SecretKey;
use overlay::id::{Epoch, Hash, NodeId};
use overlay::ms::driver::Driver;
use overlay::ms::{MsApp, State};
use overlay::pbft::{Client, Config, Record, Replica, ReplicaIdx, Timer};
use overlay::threshold::KeyPackage;
use overlay::threshold::session::{Coordinator, Signer};

use crate::byzantine::pbft::Liar;
use overlay::epoch::EpochStatement;

/// A node's replica of one MS instance.
pub struct Inst {
    /// The replica; `None` while the node is down.
    pub replica: Option<Replica<MsApp>>,
    /// The state the instance started from (a restart recovers from it and the records).
    pub start: State,
    /// What the replica persisted.
    pub records: Vec<Record>,
    /// Timer generations: a fired timer counts only if it is the newest one set.
    pub timers: BTreeMap<Timer, u64>,
    /// The Byzantine node's message rewriter.
    pub liar: Option<Liar>,
    /// This replica's index.
    pub idx: ReplicaIdx,
    /// The instance's PBFT configuration.
    pub cfg: Config,
    /// What the instance handed over, kept once the node moved on (the replica is dropped
    /// then; laggards and outsiders still poll the state).
    pub frozen: Option<MsApp>,
    /// The state this instance handed over, once the node saw it.
    pub handed: Option<State>,
}

/// A node's PBFT client of one instance, submitting one operation at a time.
pub struct Sub {
    /// The client.
    pub client: Client,
    /// Operations waiting for the one in flight.
    pub queue: VecDeque<Vec<u8>>,
    /// Retry-timer generation.
    pub generation: u64,
    /// The operation in flight.
    pub inflight: Option<Vec<u8>>,
}

/// A signing session this node coordinates.
pub struct Session {
    /// The coordinator.
    pub coord: Coordinator,
    /// What is being signed.
    pub statement: EpochStatement,
}

/// One node (index 0 is the admin, which has no driver and runs no replica).
pub struct Node {
    /// Node key (the admin's is the authority key).
    pub key: SecretKey,
    /// Its id.
    pub id: NodeId,
    /// Up or down.
    pub alive: bool,
    /// Down for good.
    pub dead: bool,
    /// Tick generation: bumped by a crash, so the old tick chain stops.
    pub life: u64,
    /// The MS driver (none for the admin, none while down).
    pub driver: Option<Driver>,
    /// The share as on disk.
    pub disk_share: Option<KeyPackage>,
    /// The instance this node follows and its configuration.
    pub following: Configuration,
    /// Replicas of instances, by the epoch whose group runs them.
    pub insts: BTreeMap<Epoch, Inst>,
    /// PBFT clients, by instance.
    pub subs: BTreeMap<Epoch, Sub>,
    /// Signer over the current share.
    pub signer: Option<Signer>,
    /// The session it coordinates.
    pub session: Option<Session>,
    /// Latest poll answer per reporter, about the followed instance.
    pub polls: BTreeMap<usize, MsApp>,
    /// Instances it already reported unresponsive nodes to (node, instance).
    pub reported: BTreeSet<(NodeId, Epoch)>,
    /// Handovers it already complained in, as a false complainer.
    pub complained: BTreeSet<Hash>,
}

impl Node {
    /// A node following `config`.
    pub fn new(key: SecretKey, following: Configuration, share: Option<KeyPackage>) -> Node {
        let id = NodeId::of(&key.public());
        Node {
            key,
            id,
            alive: true,
            dead: false,
            life: 0,
            driver: None,
            signer: share.clone().map(Signer::new),
            disk_share: share,
            following,
            insts: BTreeMap::new(),
            subs: BTreeMap::new(),
            session: None,
            polls: BTreeMap::new(),
            reported: BTreeSet::new(),
            complained: BTreeSet::new(),
        }
    }

    /// A copy of the node key.
    pub fn key(&self) -> SecretKey {
        SecretKey::from_seed(&self.key.seed())
    }

    /// The epoch whose instance this node follows.
    pub fn epoch(&self) -> Epoch {
        self.following.epoch
    }

    /// The application of its replica of `e`, if it runs one.
    pub fn app(&self, e: Epoch) -> Option<&MsApp> {
        self.insts.get(&e)?.replica.as_ref().map(Replica::app)
    }

    /// What it answers a poll about instance `e` with: its replica's state, or what the
    /// instance handed over.
    pub fn answer(&self, e: Epoch) -> Option<&MsApp> {
        let i = self.insts.get(&e)?;
        i.frozen.as_ref().or(i.replica.as_ref().map(Replica::app))
    }

    /// Keeps `share` (or none) in memory and on disk.
    pub fn set_share(&mut self, share: Option<KeyPackage>) {
        self.signer = share.clone().map(Signer::new);
        self.disk_share = share;
    }

    /// Forgets everything that lives only in memory.
    pub fn crash(&mut self) {
        self.alive = false;
        self.life += 1;
        self.driver = None;
        self.signer = None;
        self.session = None;
        self.subs.clear();
        self.polls.clear();
        // Timer generations survive, so that timers set before the crash never pass for ones
        // set after it.
        for i in self.insts.values_mut() {
            i.replica = None;
        }
    }
}
