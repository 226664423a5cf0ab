//! Work a replica's host does on its own initiative, beside answering messages: for the
//! membership service, closing epochs and carrying handovers (`super::ms_hook`).

use overlay::pbft::{Application, Replica};

use super::ingress::Outbound;

/// What one tick of a hook asks of the actor.
#[derive(Default)]
pub struct HookResult {
    /// Hand these to the network task.
    pub out: Vec<Outbound>,
    /// This instance is finished: keep serving PBFT traffic for this long (replicas that
    /// missed its last commits catch up from it), then stop the actor.
    pub retire: Option<std::time::Duration>,
}

/// Runs on the replica's actor every [`super::actor::HOOK_TICK`].
pub trait Hook<A: Application>: Send + 'static {
    /// Looks at the replica and says what to do.
    fn tick(&mut self, replica: &Replica<A>) -> HookResult;
}

/// A hook that never does anything (the null application).
pub struct Idle;

impl<A: Application> Hook<A> for Idle {
    fn tick(&mut self, _replica: &Replica<A>) -> HookResult {
        HookResult::default()
    }
}
