//! Messages to and from the PBFT replica actor.

use actix::{Message, Recipient};
use overlay::config::Configuration;
use overlay::epoch::EpochStatement;
use overlay::id::Hash;
use overlay::ms::driver::DriverAction;
use overlay::ms::{Handover, State};
use overlay::pbft::{Event, ReplicaIdx, Signed, SignedReply, View};
use overlay::wire::MsQueue;
use std::sync::Arc;
use tokio::sync::watch;

/// An input for the replica (a message from a replica, a client request).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Deliver(pub Event);

/// What the replica sends through the network task.
pub enum Outbound {
    /// To one replica.
    To(ReplicaIdx, Signed),
    /// To every other replica.
    All(Signed),
    /// A reply to a client.
    Reply(SignedReply),
    /// What the MS driver asks of the network side.
    Ms(DriverAction),
    /// Proof that a replica of this instance equivocated, for the MS.
    Evidence(Box<overlay::ms::Evidence>),
    /// The epoch statement this replica would sign now, if any.
    Approve(Option<EpochStatement>),
    /// This instance has handed over: the state it handed over, and the next instance if this
    /// node is in the next MS group.
    Handover {
        /// The final state, served to next-group holders that were not replicas here.
        state: Arc<State>,
        /// The next instance.
        next: Option<InstanceLink>,
    },
    /// A message (`To`, `All` or `Reply`) of an instance that handed over and still serves
    /// its lagging replicas for a while.
    Retired {
        /// That instance's id.
        instance: overlay::id::Hash,
        /// The message.
        out: Box<Outbound>,
    },
}

/// A running PBFT instance, for the network task.
pub struct InstanceLink {
    /// Where its input goes.
    pub replica: Recipient<Deliver>,
    /// Its progress.
    pub view: watch::Receiver<PbftView>,
    /// The configuration whose MS group runs it.
    pub config: Box<Configuration>,
}

/// What the replica shows the status endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PbftView {
    /// This replica's index.
    pub me: u32,
    /// The current view.
    pub view: View,
    /// Whether the view is active.
    pub active: bool,
    /// The primary of the view.
    pub primary: u32,
    /// Last executed sequence number.
    pub last_exec: u64,
    /// Last stable checkpoint.
    pub stable: u64,
    /// Operations the application executed.
    pub executed_ops: u64,
    /// Digest of the application's state.
    pub state: Hash,
    /// Inputs dropped, all reasons.
    pub dropped: u64,
    /// Outbound messages dropped because the network queue was full.
    pub outbound_dropped: u64,
    /// The membership queue, when the application is the MS.
    pub ms: Option<MsQueue>,
    /// The MS handover the replica has open or last completed.
    pub handover: Option<Arc<Handover>>,
}

/// Applications whose progress the actor can report.
pub trait Summary {
    /// (operations executed, state digest).
    fn summary(&self) -> (u64, Hash);
    /// The membership queue, for the membership service.
    fn ms_queue(&self) -> Option<MsQueue> {
        None
    }
    /// The MS handover, for the membership service.
    fn handover(&self) -> Option<Handover> {
        None
    }
}

impl Summary for overlay::ms::MsApp {
    fn summary(&self) -> (u64, Hash) {
        (self.executed, self.chain)
    }

    fn ms_queue(&self) -> Option<MsQueue> {
        let s = &self.state;
        let p = s.pending();
        let n = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
        Some(MsQueue {
            epoch: s.config().epoch,
            time: s.now().0,
            adds: n(p.adds.len()),
            removes: n(p.removes.len()),
            revokes: n(p.revokes.len()),
            reported: n(p.reports.len()),
            evictions: n(p.evictions.len()),
        })
    }

    fn handover(&self) -> Option<Handover> {
        self.state.handover().cloned()
    }
}

impl Summary for overlay::pbft::HistoryApp {
    fn summary(&self) -> (u64, Hash) {
        (self.count, self.chain)
    }
}
