//! The membership service's hook: runs its [`Driver`] on the replica's state, hands what it
//! decides to the network task, and when the handover completes persists the handed-over
//! state and starts the next instance's replica on this arbiter, if this node is in the next
//! MS group.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix::{Actor, Arbiter};
use actix_rt::ArbiterHandle;
use overlay::config::Configuration;
use overlay::crypto::SecretKey;
use overlay::encoding::encode;
use overlay::epoch::EpochStatement;
use overlay::id::NodeId;
use overlay::ms::driver::{Driver, DriverAction, Local};
use overlay::ms::{MsApp, State};
use overlay::pbft::{self, Replica};
use overlay::threshold::KeyPackage;
use overlay::time::Timestamp;
use tokio::sync::mpsc;
use tracing::{error, info};

use super::actor::ReplicaActor;
use super::hook::{Hook, HookResult};
use super::ingress::{InstanceLink, Outbound};
use super::store::PbftStore;
use crate::db::Db;

/// What it takes to start the next instance's replica.
#[derive(Clone)]
pub struct Successor {
    /// The node's database (PBFT records of every instance).
    pub db: Db,
    /// The node key's seed.
    pub key_seed: [u8; 32],
    /// The PBFT configuration of a configuration's MS group, with the node's bounds applied.
    pub pbft_config: Arc<dyn Fn(&Configuration) -> pbft::Config + Send + Sync>,
    /// The network task's queue.
    pub out: mpsc::Sender<Outbound>,
    /// Where the state an instance starts from is kept, for restarts.
    pub state_path: PathBuf,
    /// The epoch interval the drivers use.
    pub epoch_interval_ms: u64,
}

/// The MS replica's hook.
pub struct MsHook {
    driver: Driver,
    successor: Successor,
    started: Instant,
    approved: Option<EpochStatement>,
}

impl MsHook {
    /// A hook running `driver`, able to start the next instance with `successor`.
    pub fn new(driver: Driver, successor: Successor) -> MsHook {
        MsHook {
            driver,
            successor,
            started: Instant::now(),
            approved: None,
        }
    }

    fn start_successor(
        &self,
        state: State,
        config: &Configuration,
    ) -> Result<InstanceLink, String> {
        start_instance(
            &self.successor,
            state,
            config,
            self.driver.share().cloned(),
            &Arbiter::current(),
        )
    }
}

/// Starts the MS replica of `config`'s instance from `state` on `arbiter`, after persisting
/// the state for restarts. `share` is this node's share of the MS key for that group.
pub fn start_instance(
    successor: &Successor,
    state: State,
    config: &Configuration,
    share: Option<KeyPackage>,
    arbiter: &ArbiterHandle,
) -> Result<InstanceLink, String> {
    persist_state(&successor.state_path, &state)?;
    let key = SecretKey::from_seed(&successor.key_seed);
    let cfg = (successor.pbft_config)(config);
    let me = cfg
        .index_of(&key.public())
        .ok_or("this node is not in the next MS group")?;
    let (store, records) =
        PbftStore::open(successor.db.clone(), cfg.instance).map_err(|e| e.to_string())?;
    let replica = Replica::recover(cfg, me, key, MsApp::new(state), &records);
    let driver = Driver::new(
        SecretKey::from_seed(&successor.key_seed),
        share,
        successor.epoch_interval_ms,
    );
    let hook = MsHook::new(driver, successor.clone());
    let (actor, view) = ReplicaActor::new(replica, store, successor.out.clone(), Box::new(hook));
    let addr = ReplicaActor::start_in_arbiter(arbiter, move |_| actor);
    Ok(InstanceLink {
        replica: addr.recipient(),
        view,
        config: Box::new(config.clone()),
    })
}

impl Hook<MsApp> for MsHook {
    fn tick(&mut self, r: &Replica<MsApp>) -> HookResult {
        let app = r.app();
        let mut res = HookResult::default();
        let approve = Driver::open_statement(app);
        if approve != self.approved {
            self.approved = approve;
            res.out.push(Outbound::Approve(approve));
        }
        let local = Local {
            app,
            primary: r.is_active() && r.config().primary(r.view()) == r.id(),
            index: r.id().0,
        };
        let now_ms = self.started.elapsed().as_millis() as u64;
        let now = Timestamp(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        );
        for a in self
            .driver
            .tick(now_ms, now, &local, &mut rand::rngs::OsRng)
        {
            match a {
                DriverAction::Adopt {
                    config,
                    cert,
                    ms_public,
                } => {
                    let me = NodeId::of(&SecretKey::from_seed(&self.successor.key_seed).public());
                    let next = if config.in_ms_group(&me) {
                        match self.start_successor(app.state.clone(), &config) {
                            Ok(link) => {
                                info!(epoch = %config.epoch, "handover complete; the next MS instance starts here");
                                Some(link)
                            }
                            Err(e) => {
                                error!(error = %e, "cannot start the next MS instance");
                                None
                            }
                        }
                    } else {
                        info!(epoch = %config.epoch, "handover complete; this node leaves the MS group");
                        None
                    };
                    res.out.push(Outbound::Ms(DriverAction::Adopt {
                        config,
                        cert,
                        ms_public,
                    }));
                    res.out.push(Outbound::Handover {
                        state: Arc::new(app.state.clone()),
                        next,
                    });
                    res.retire = Some(retire_after(self.successor.epoch_interval_ms));
                }
                other => res.out.push(Outbound::Ms(other)),
            }
        }
        res
    }
}

/// How long an instance that handed over keeps serving PBFT traffic: an epoch interval, and
/// at least [`RETIRE_MIN`]. Its replicas that missed the last commits can catch up only from
/// it: with f of the others lying and the rest lagging, reports of the final state would not
/// reach f+1.
pub fn retire_after(epoch_interval_ms: u64) -> Duration {
    Duration::from_millis(epoch_interval_ms).max(RETIRE_MIN)
}

/// The shortest time a retired instance keeps serving.
pub const RETIRE_MIN: Duration = Duration::from_secs(30);

/// Writes the state an instance starts from: to a temporary file, synced, then renamed.
fn persist_state(path: &std::path::Path, state: &State) -> Result<(), String> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    f.write_all(&encode(state))
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}
