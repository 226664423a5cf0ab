//! The actor loop: event in, replica decides, persist, then send and arm timers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, ActorContext, AsyncContext, Context, Handler, SpawnHandle};
use overlay::pbft::{Action, Application, Event, Record, Replica, Timer};
use tokio::sync::{mpsc, watch};
use tracing::{debug, error, info, warn};

use super::hook::Hook;
use super::ingress::{Deliver, Outbound, PbftView, Summary};
use super::store::PbftStore;

/// Mailbox bound: the network task drops input when it is full.
pub const MAILBOX_CAPACITY: usize = 8192;
/// How often the application's hook runs.
pub const HOOK_TICK: Duration = Duration::from_millis(200);

/// Hosts one PBFT replica.
pub struct ReplicaActor<A: Application + Summary + Unpin + 'static> {
    replica: Replica<A>,
    store: PbftStore,
    out: mpsc::Sender<Outbound>,
    view: watch::Sender<PbftView>,
    timers: HashMap<Timer, SpawnHandle>,
    outbound_dropped: u64,
    failed: bool,
    hook: Box<dyn Hook<A>>,
    handover: Option<Arc<overlay::ms::Handover>>,
    handover_at: u64,
    retired: bool,
}

impl<A: Application + Summary + Unpin + 'static> ReplicaActor<A> {
    /// An actor for `replica` (new or recovered), persisting to `store`, with `hook` doing
    /// the application's own work.
    pub fn new(
        replica: Replica<A>,
        store: PbftStore,
        out: mpsc::Sender<Outbound>,
        hook: Box<dyn Hook<A>>,
    ) -> (ReplicaActor<A>, watch::Receiver<PbftView>) {
        let (view, rx) = watch::channel(PbftView::default());
        let mut actor = ReplicaActor {
            replica,
            store,
            out,
            view,
            timers: HashMap::new(),
            outbound_dropped: 0,
            failed: false,
            hook,
            handover: None,
            handover_at: u64::MAX,
            retired: false,
        };
        actor.publish();
        (actor, rx)
    }

    fn publish(&mut self) {
        let r = &self.replica;
        let (executed_ops, state) = r.app().summary();
        // The handover changes only when something executes: clone it only then.
        if executed_ops != self.handover_at {
            self.handover_at = executed_ops;
            self.handover = r.app().handover().map(Arc::new);
        }
        self.view.send_replace(PbftView {
            me: r.id().0,
            view: r.view(),
            active: r.is_active(),
            primary: r.config().primary(r.view()).0,
            last_exec: r.last_executed().0,
            stable: r.stable_seq().0,
            executed_ops,
            state,
            dropped: r.drops().values().sum(),
            outbound_dropped: self.outbound_dropped,
            ms: r.app().ms_queue(),
            handover: self.handover.clone(),
        });
    }

    fn handle_event(&mut self, ev: Event, ctx: &mut Context<Self>) {
        if self.failed {
            return;
        }
        let actions = self.replica.on_event(ev);
        self.perform(actions, ctx);
        self.publish();
    }

    fn perform(&mut self, actions: Vec<Action>, ctx: &mut Context<Self>) {
        let records: Vec<Record> = actions
            .iter()
            .filter_map(|a| match a {
                Action::Persist(r) => Some(r.clone()),
                _ => None,
            })
            .collect();
        // Nothing the records protect may leave before they are durable.
        if let Err(e) = self.store.append(&records) {
            error!(error = %e, "cannot persist PBFT records; this replica stops participating");
            self.failed = true;
            return;
        }
        for a in actions {
            match a {
                Action::Send { to, msg } => self.push(Outbound::To(to, msg)),
                Action::Broadcast(msg) => self.push(Outbound::All(msg)),
                Action::Reply(r) => self.push(Outbound::Reply(r)),
                Action::SetTimer { timer, after_ms } => {
                    if let Some(h) = self.timers.remove(&timer) {
                        ctx.cancel_future(h);
                    }
                    let h = ctx.run_later(Duration::from_millis(after_ms), move |act, ctx| {
                        act.timers.remove(&timer);
                        act.handle_event(Event::Timer(timer), ctx);
                    });
                    self.timers.insert(timer, h);
                }
                Action::CancelTimer(timer) => {
                    if let Some(h) = self.timers.remove(&timer) {
                        ctx.cancel_future(h);
                    }
                }
                Action::NewView(v) => info!(view = v.0, "entered view"),
                Action::Restored { seq } => {
                    info!(seq = seq.0, "caught up from a stable checkpoint")
                }
                Action::Dropped { from, reason } => debug!(?from, ?reason, "pbft input dropped"),
                Action::Equivocation { a, b } => {
                    warn!(
                        replica = a.from.0,
                        "an MS replica signed two conflicting messages"
                    );
                    self.push(Outbound::Evidence(Box::new(overlay::ms::Evidence::Pbft {
                        a,
                        b,
                    })));
                }
                Action::Executed { .. } | Action::Persist(_) => {}
            }
        }
    }

    fn run_hook(&mut self, ctx: &mut Context<Self>) {
        if self.failed || self.retired {
            return;
        }
        let res = self.hook.tick(&self.replica);
        for o in res.out {
            self.push(o);
        }
        if let Some(after) = res.retire {
            info!(
                secs = after.as_secs(),
                "this PBFT instance has handed over; its replica keeps serving lagging peers, then stops"
            );
            self.retired = true;
            ctx.run_later(after, |_, ctx| ctx.stop());
        }
    }

    fn push(&mut self, o: Outbound) {
        // Once retired, what the replica sends belongs to an instance the network task no
        // longer follows as current.
        let o = match o {
            Outbound::To(..) | Outbound::All(_) | Outbound::Reply(_) if self.retired => {
                Outbound::Retired {
                    instance: self.replica.config().instance,
                    out: Box::new(o),
                }
            }
            o => o,
        };
        if self.out.try_send(o).is_err() {
            self.outbound_dropped += 1;
            debug!("pbft outbound queue full; message dropped");
        }
    }
}

impl<A: Application + Summary + Unpin + 'static> Actor for ReplicaActor<A> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
        ctx.run_interval(HOOK_TICK, |act, ctx| act.run_hook(ctx));
        let actions = self.replica.start();
        self.perform(actions, ctx);
        self.publish();
    }
}

impl<A: Application + Summary + Unpin + 'static> Handler<Deliver> for ReplicaActor<A> {
    type Result = ();

    fn handle(&mut self, msg: Deliver, ctx: &mut Context<Self>) {
        self.handle_event(msg.0, ctx);
    }
}
