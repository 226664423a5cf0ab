//! The `Epochs` actor loop: offer in, tracker decides, persist and publish.

use std::sync::Arc;

use actix::{Actor, Context, Handler};
use overlay::epoch::{EpochTracker, Offer, OfferError};
use tokio::sync::watch;
use tracing::{info, warn};

use super::ingress::{Current, HISTORY_EPOCHS, History, OfferConfig, View};
use super::store::EpochStore;

/// Mailbox bound: offers come from the network and are dropped when it is full.
pub const MAILBOX_CAPACITY: usize = 256;

/// Holds the current epoch.
pub struct Epochs {
    tracker: EpochTracker,
    store: EpochStore,
    publish: watch::Sender<View>,
    history: Arc<History>,
}

impl Epochs {
    /// An actor starting from `tracker`, saving to `store`, publishing on a new watch channel.
    pub fn new(tracker: EpochTracker, store: EpochStore) -> (Epochs, watch::Receiver<View>) {
        let mut history = History::new();
        history.insert(
            tracker.config().epoch,
            (Arc::new(tracker.config().clone()), *tracker.cert()),
        );
        let history = Arc::new(history);
        let view = view_of(&tracker, &history);
        let (publish, rx) = watch::channel(view);
        (
            Epochs {
                tracker,
                store,
                publish,
                history,
            },
            rx,
        )
    }
}

fn view_of(t: &EpochTracker, history: &Arc<History>) -> View {
    View {
        config: Arc::new(t.config().clone()),
        cert: *t.cert(),
        history: history.clone(),
    }
}

impl Actor for Epochs {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
    }
}

impl Handler<OfferConfig> for Epochs {
    type Result = Result<Offer, OfferError>;

    fn handle(&mut self, msg: OfferConfig, _: &mut Context<Self>) -> Self::Result {
        let outcome = self.tracker.offer(msg.config, msg.cert);
        match &outcome {
            Ok(Offer::Adopted { from, to }) => {
                info!(peer = %msg.from, %from, %to, "adopted a newer certified configuration");
                if let Err(e) = self.store.save(self.tracker.config(), self.tracker.cert()) {
                    warn!(error = %e, "could not persist the new configuration");
                }
                let mut h = (*self.history).clone();
                h.insert(
                    self.tracker.config().epoch,
                    (
                        Arc::new(self.tracker.config().clone()),
                        *self.tracker.cert(),
                    ),
                );
                while h.len() > HISTORY_EPOCHS {
                    h.pop_first();
                }
                self.history = Arc::new(h);
                self.publish
                    .send_replace(view_of(&self.tracker, &self.history));
            }
            Ok(_) => {}
            Err(e) => warn!(peer = %msg.from, error = %e, "refused a configuration"),
        }
        outcome
    }
}

impl Handler<Current> for Epochs {
    type Result = actix::MessageResult<Current>;

    fn handle(&mut self, _: Current, _: &mut Context<Self>) -> Self::Result {
        actix::MessageResult(view_of(&self.tracker, &self.history))
    }
}
