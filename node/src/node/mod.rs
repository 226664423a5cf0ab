//! `rampart node start`: load the key, the genesis bundle and the newest stored epoch, start
//! the actix system with the `Epochs` actor, and hand the swarm to its own task.

pub mod config;
pub mod share;

use std::path::Path;

use anyhow::{Context, bail};
use libp2p::Multiaddr;
use overlay::epoch::EpochTracker;
use overlay::id::NodeId;
use tracing::{info, warn};

use crate::net::submitter::Submitter;
use crate::timeutil::now;
use actix::{Actor, Recipient};
use actors::db::Db;
use actors::dbqs::{RocksStore, StoreActor, Stripes, Writer};
use actors::epochs::{EpochStore, Epochs};
use actors::pbft::{
    Deliver, Hook, Idle, MsHook, Outbound, PbftStore, PbftView, ReplicaActor, Successor, Summary,
};
use bootstrap::admission;
use bootstrap::bundle::{self, Bundle};
use bootstrap::files::Overwrite;
use bootstrap::keyfile;
use overlay::config::Configuration;
use overlay::crypto::SecretKey;
use overlay::ms::driver::Driver;
use overlay::ms::{MsApp, State};
use overlay::pbft::{self, Application, HistoryApp, Replica};
use overlay::wire::{Request, Response};
use share::ShareStore;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

use crate::net::behaviour::{self, Timing};
use crate::net::outsider::Outsider;
use crate::net::peers::{keypair_of, peer_id_of};
use crate::net::swarm::{
    Intervals, MsRuntime, NetTask, PbftLink, ProbeSettings, Roles, StoreLink, TransferLink,
};
use crate::net::tsig::Tsig;
use config::{AppKind, Settings};
use overlay::threshold::{KeyPackage, PublicKeyPackage};

const BUNDLE_FILE: &str = "genesis.bundle";

/// Runs a node until SIGINT or SIGTERM.
pub fn start(settings: Settings) -> anyhow::Result<()> {
    prepare_data_dir(&settings.data_dir)?;
    let key = keyfile::read(&settings.key).map_err(|e| {
        anyhow::anyhow!(
            "{e}\n  (create a node key with `rampart keygen --out {}`)",
            settings.key.display()
        )
    })?;
    let me = NodeId::of(&key.public());
    let genesis = load_bundle(&settings, &me)?;
    let admission = match &settings.admission {
        Some(p) => Some(read_admission(p)?.cert),
        None => None,
    };
    let store = EpochStore::new(&settings.data_dir);
    let tracker = restore(&genesis, &store)?;
    let listen: Multiaddr = settings
        .listen
        .parse()
        .with_context(|| format!("listen address {:?}", settings.listen))?;
    crate::net::listen::refuse_taken(&listen)?;
    let bootstrap = settings
        .bootstrap
        .iter()
        .map(|b| {
            b.parse::<Multiaddr>()
                .with_context(|| format!("bootstrap peer {b:?} is not a multiaddr"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    info!(node = %me, epoch = %tracker.config().epoch, members = tracker.config().members.len(),
        in_ms_group = tracker.config().in_ms_group(&me), "starting node");

    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("the tokio runtime starts")
    };
    let db = Db::open(&settings.data_dir.join("db"), settings.sync)?;
    info!(durable = db.durable(), "database open");
    let system = actix::System::with_tokio_rt(runtime);
    let shares = ShareStore::new(&settings.data_dir, &settings.data_dir.join(BUNDLE_FILE));
    let share = shares.load(&genesis)?;
    let ms_state = load_ms_state(&settings.data_dir, &genesis, tracker.config());
    system.block_on(async move {
        let (tx, rx) = mpsc::channel(PBFT_OUTBOUND_CAPACITY);
        let successor = successor(&settings, &db, &key, tx.clone());
        let pbft_link = start_replica(
            &settings,
            &db,
            ms_state.clone(),
            share.clone(),
            tracker.config(),
            &key,
            tx,
            successor.clone(),
        )?;
        let instance = pbft::Config::for_ms(tracker.config());
        let membership = settings.pbft.application.unwrap_or_default() == AppKind::Membership;
        let ms_runtime = membership.then(|| MsRuntime {
            successor,
            arbiter: actix::Arbiter::new().handle(),
        });
        let outsider = Outsider::new(Driver::new(
            SecretKey::from_seed(&key.seed()),
            share.clone(),
            settings.epoch_interval.as_millis() as u64,
        ));
        let (epochs, view) = Epochs::new(tracker, store);
        let epochs = epochs.start();
        let timing = Timing {
            request_timeout: settings.request_timeout,
            idle_timeout: settings.idle_timeout,
        };
        let mut swarm = behaviour::build(keypair_of(&key), timing)?;
        swarm
            .listen_on(listen.clone())
            .with_context(|| format!("cannot listen on {listen}"))?;
        let intervals = Intervals {
            dial: settings.dial_interval,
            exchange: settings.exchange_interval,
        };
        let public = ms_state
            .as_ref()
            .map(|s| (s.ms_public().to_vec(), s.config().epoch))
            .unwrap_or_else(|| (genesis.ms_public.clone(), genesis.config.epoch));
        let authority = genesis.authority;
        // The share on disk is for the group of the epoch the node's MS state starts
        // (genesis, or the last instance it joined).
        let share_epoch = ms_state
            .as_ref()
            .map(|s| s.config().epoch)
            .unwrap_or(genesis.config.epoch);
        let tsig = signing_service(
            &public,
            share.map(|k| (k, share_epoch)),
            me,
            settings.request_timeout,
        )?;
        let mut submitter = Submitter::new(key.seed());
        if pbft_link.is_some() {
            submitter.set_instance(Some(instance));
        }
        let roles = Roles {
            liar: (!settings.byzantine.is_empty()).then(|| {
                let lies = settings.byzantine.clone();
                tracing::warn!(behaviour = ?lies, "THIS NODE LIES ON PURPOSE (--byzantine, a test build)");
                crate::byzantine::Liar::new(lies, overlay::crypto::SecretKey::from_seed(&key.seed()))
            }),
            pbft: pbft_link,
            tsig,
            submitter,
            shares,
            ms_runtime,
            outsider,
            admission,
            authority,
            key_seed: key.seed(),
            probes: ProbeSettings {
                interval: settings.probe_interval,
                misses: settings.probe_misses,
            },
            ms_key: genesis.ms_key,
            store: Some(start_store(&db, &settings, me, authority)?),
            http: match &settings.http_listen {
                Some(listen) => {
                    let (tx, rx) = mpsc::channel(crate::analyzer::ASKS_MAX);
                    let addr = crate::analyzer::start(listen, tx, settings.http_policy.clone())?;
                    info!(%addr, "HTTP analyser: / (dashboard), /status, /metrics, POST /logout");
                    Some((addr.to_string(), rx))
                }
                None => None,
            },
        };
        let task = NetTask::new(swarm, me, epochs, view, bootstrap, intervals, roles);
        let net = tokio::spawn(task.run(Some(rx)));
        wait_for_signal().await;
        info!("stopping");
        net.abort();
        actix::System::current().stop();
        Ok(())
    })
}

/// Starts the dBQS replica (see `actors::dbqs`).
fn start_store(
    db: &Db,
    settings: &Settings,
    me: NodeId,
    authority: overlay::crypto::PublicKey,
) -> anyhow::Result<StoreLink> {
    let store = RocksStore::new(db.clone());
    let indexed = store
        .rebuild_index_if_missing()
        .map_err(|e| anyhow::anyhow!("the data directory's objects cannot be indexed: {e}"))?;
    if indexed > 0 {
        info!(
            objects = indexed,
            "indexed the objects of a data directory written before the object index"
        );
    }
    let moving = TransferLink::new(
        me,
        authority,
        &settings.data_dir,
        settings.transfer_rate,
        settings.transfer_ranges,
        store.is_empty(),
    )?;
    let stripes = std::sync::Arc::new(Stripes::default());
    let writer = Writer::start(db.clone(), stripes.clone()).map_err(anyhow::Error::msg)?;
    let actor = StoreActor::start(db.clone(), stripes);
    Ok(StoreLink::new(actor, writer, store, moving))
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create data directory {}", dir.display()))
}

/// The bundle kept in the data directory, or the one given, copied there on first start; or,
/// joining a running system with an admission, one made from the configuration the bootstrap
/// peers send (checked against the MS key in the admission).
fn load_bundle(settings: &Settings, me: &NodeId) -> anyhow::Result<Bundle> {
    let kept = settings.data_dir.join(BUNDLE_FILE);
    let (b, from) = if kept.exists() {
        (bundle::read(&kept)?, kept.clone())
    } else if let Some(given) = &settings.genesis {
        (bundle::read(given)?, given.clone())
    } else if let Some(path) = &settings.admission {
        (join_bundle(settings, path, me)?, path.clone())
    } else {
        bail!(
            "no genesis bundle in {} and none given: pass --genesis <bundle> from `rampart admin genesis`, or --admission <file> from `rampart admin add-node --admission` with --bootstrap <a member> to join a running system",
            settings.data_dir.display()
        );
    };
    if b.node != *me {
        bail!(
            "{}: this bundle is for node {}, but the key in {} is node {}",
            from.display(),
            b.node,
            settings.key.display(),
            me
        );
    }
    if !kept.exists() {
        bundle::write(&kept, &b, Overwrite::Refuse)?;
    }
    Ok(b)
}

/// Reads an admission; given the bare add certificate instead, says how to get one.
fn read_admission(path: &Path) -> anyhow::Result<admission::Admission> {
    admission::read(path, now()).map_err(|e| {
        if bootstrap::certfile::read(path).is_ok() {
            anyhow::anyhow!(
                "{}: a bare certificate; joining also needs the keys to trust (the authority's \
                 and the MS's): have the admin write an admission, which holds this \
                 certificate with both, with `rampart admin add-node --key <node.pub> --addr \
                 <multiaddr> --admission <file>`, and start with --admission <file>",
                path.display()
            )
        } else {
            e.into()
        }
    })
}

/// A starting bundle for a node joining a running system: the current configuration from a
/// bootstrap peer, accepted only if it verifies under the MS key of the admission.
fn join_bundle(settings: &Settings, path: &Path, me: &NodeId) -> anyhow::Result<Bundle> {
    let a = read_admission(path)?;
    if a.node().map(|k| NodeId::of(&k)) != Some(*me) {
        bail!(
            "{}: this admission is for another node than the key in {}",
            path.display(),
            settings.key.display()
        );
    }
    if settings.bootstrap.is_empty() {
        bail!("joining with --admission needs --bootstrap <a member of the running system>");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut problems = Vec::new();
    for peer in &settings.bootstrap {
        let answer = rt.block_on(crate::net::client::request(
            peer,
            Request::Configuration,
            settings.request_timeout,
        ));
        match answer {
            Ok(Response::Config { config, cert }) => {
                match EpochTracker::new(a.ms_key, (*config).clone(), cert) {
                    Ok(_) => {
                        info!(%peer, epoch = %config.epoch, "joining: configuration fetched and verified");
                        return Ok(Bundle {
                            node: *me,
                            authority: a.authority,
                            ms_key: a.ms_key,
                            ms_public: Vec::new(),
                            config: *config,
                            cert,
                            share: None,
                            time: now(),
                        });
                    }
                    Err(e) => problems.push(format!("{peer}: {e}")),
                }
            }
            Ok(other) => problems.push(format!("{peer} answered {other:?}")),
            Err(e) => problems.push(format!("{peer}: {e:#}")),
        }
    }
    bail!(
        "cannot join: no bootstrap peer gave a configuration certified by the MS key in {}: {}",
        path.display(),
        problems.join("; ")
    )
}

/// The newest certified configuration we hold: the stored one if it verifies, else genesis.
fn restore(genesis: &Bundle, store: &EpochStore) -> anyhow::Result<EpochTracker> {
    let mut tracker = EpochTracker::new(genesis.ms_key, genesis.config.clone(), genesis.cert)
        .context("the genesis bundle's epoch certificate")?;
    match store.load() {
        Ok(Some((config, cert))) => {
            if let Err(e) = tracker.offer(config, cert) {
                warn!(error = %e, "ignoring the stored configuration");
            }
        }
        Ok(None) => {}
        Err(e) => warn!(error = %e, "ignoring the stored configuration"),
    }
    Ok(tracker)
}

/// The threshold signing service: this node's key share, if it holds one, and the current MS
/// group's public shares.
fn signing_service(
    public: &(Vec<u8>, overlay::id::Epoch),
    share: Option<(KeyPackage, overlay::id::Epoch)>,
    me: NodeId,
    request_timeout: std::time::Duration,
) -> anyhow::Result<Tsig> {
    // A node that joined a running system learns the public shares from the MS replicas.
    let (bytes, epoch) = public;
    let public = if bytes.is_empty() {
        None
    } else {
        Some((
            PublicKeyPackage::deserialize(bytes)
                .map_err(|e| anyhow::anyhow!("the MS public package: {e}"))?,
            *epoch,
        ))
    };
    info!(holds_share = share.is_some(), "threshold signing ready");
    // The asker's request must still be open when the session gives up.
    let deadline = request_timeout.mul_f32(0.6);
    Ok(Tsig::new(me, share, public, deadline))
}

/// Where the state an MS instance started from is kept.
const MS_STATE_FILE: &str = "ms-state";

/// The MS state the instance of `config` starts from: genesis at epoch 0, else the state
/// this node's replica handed over (kept in the data directory), if it is for `config`.
fn load_ms_state(data_dir: &Path, genesis: &Bundle, config: &Configuration) -> Option<State> {
    if config.hash() == genesis.config.hash() {
        return Some(State::new(
            genesis.authority,
            genesis.config.clone(),
            genesis.cert.hash(),
            genesis.time,
            genesis.ms_public.clone(),
        ));
    }
    let path = data_dir.join(MS_STATE_FILE);
    let bytes = std::fs::read(&path).ok()?;
    match overlay::encoding::decode::<State>(&bytes, overlay::constants::WIRE_BYTES_MAX) {
        Ok(s) if s.config().hash() == config.hash() => Some(s),
        Ok(s) => {
            warn!(kept = %s.config().epoch, current = %config.epoch, "the kept MS state is for another epoch");
            None
        }
        Err(e) => {
            warn!(error = %e, path = %path.display(), "the kept MS state does not decode");
            None
        }
    }
}

/// Outbound PBFT messages queued for the network task.
const PBFT_OUTBOUND_CAPACITY: usize = 16_384;

/// Starts this node's PBFT replica on its own arbiter (its rocksdb writes block that thread
/// only) if the node is in the configuration's MS group. The replica runs the membership
/// service unless the node configuration asks for the null application.
#[allow(clippy::too_many_arguments)]
fn start_replica(
    settings: &Settings,
    db: &Db,
    ms_state: Option<State>,
    share: Option<KeyPackage>,
    config: &Configuration,
    key: &SecretKey,
    tx: mpsc::Sender<Outbound>,
    successor: Successor,
) -> anyhow::Result<Option<PbftLink>> {
    let params = settings.pbft;
    let mut cfg = pbft::Config::for_ms(config);
    params.apply(&mut cfg)?;
    let Some(me) = cfg.index_of(&key.public()) else {
        return Ok(None);
    };
    let (store, records) = PbftStore::open(db.clone(), cfg.instance)?;
    let replica_key = SecretKey::from_seed(&key.seed());
    let app = params.application.unwrap_or_default();
    info!(
        replica = me.0,
        records = records.len(),
        application = ?app,
        "starting the MS PBFT replica"
    );
    let (replica, view) = match app {
        AppKind::Membership => {
            let Some(state) = ms_state else {
                warn!(epoch = %config.epoch, "in this epoch's MS group but holding no MS state for it; joining an MS group from outside is not supported yet");
                return Ok(None);
            };
            let r = Replica::recover(cfg.clone(), me, replica_key, MsApp::new(state), &records);
            let driver = Driver::new(
                SecretKey::from_seed(&key.seed()),
                share,
                settings.epoch_interval.as_millis() as u64,
            );
            spawn_replica(r, store, tx, Box::new(MsHook::new(driver, successor)))
        }
        AppKind::Null => {
            let r = Replica::recover(
                cfg.clone(),
                me,
                replica_key,
                HistoryApp::default(),
                &records,
            );
            spawn_replica(r, store, tx, Box::new(Idle))
        }
    };
    let link = PbftLink {
        replica,
        peers: cfg.replicas.iter().map(peer_id_of).collect(),
        nodes: config.ms_group.clone(),
        view,
        cfg,
    };
    Ok(Some(link))
}

/// What it takes to start an MS replica later: at a handover, or when joining the MS group.
fn successor(
    settings: &Settings,
    db: &Db,
    key: &SecretKey,
    out: mpsc::Sender<Outbound>,
) -> Successor {
    let params = settings.pbft;
    Successor {
        db: db.clone(),
        key_seed: key.seed(),
        pbft_config: Arc::new(move |c: &Configuration| {
            let mut cfg = pbft::Config::for_ms(c);
            // The same bounds were validated when the node started.
            let _ = params.apply(&mut cfg);
            cfg
        }),
        out,
        state_path: settings.data_dir.join(MS_STATE_FILE),
        epoch_interval_ms: settings.epoch_interval.as_millis() as u64,
    }
}

/// Starts the actor hosting `replica` on its own arbiter.
fn spawn_replica<A: Application + Summary + Unpin + Send + 'static>(
    replica: Replica<A>,
    store: PbftStore,
    tx: mpsc::Sender<Outbound>,
    hook: Box<dyn Hook<A>>,
) -> (Recipient<Deliver>, watch::Receiver<PbftView>) {
    let (actor, view) = ReplicaActor::new(replica, store, tx, hook);
    let arbiter = actix::Arbiter::new();
    let addr = ReplicaActor::start_in_arbiter(&arbiter.handle(), move |_| actor);
    (addr.recipient(), view)
}
