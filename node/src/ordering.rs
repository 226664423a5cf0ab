//! A client of the MS ordering service, and a load generator built on it.
//!
//! Each logical client is an `overlay::pbft::Client` with its own key and one request in
//! flight. Every request goes to every MS replica, so that each holds the response channel
//! its reply travels back on; the client completes a request on f+1 matching signed replies.
//! One swarm carries any number of logical clients.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use libp2p::request_response::{self, Message};
use libp2p::swarm::SwarmEvent;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::{Multiaddr, PeerId, Swarm};
use overlay::config::Configuration;
use overlay::crypto::SecretKey;
use overlay::pbft::{self, Client, ClientAction, SignedRequest};
use overlay::wire::{Request, Response};
use rand::RngCore;

use crate::net::behaviour::{self, Behaviour, BehaviourEvent, Timing};
use crate::net::client;
use crate::net::peers::{keypair_of, parse_addrs, peer_id_of};

/// What a load run did.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Requests completed.
    pub ok: u64,
    /// Wall time from the first request to the last reply.
    pub elapsed: Duration,
    /// Per-request latency, microseconds, sorted.
    pub latencies_us: Vec<u64>,
}

impl LoadReport {
    /// Completed requests per second.
    pub fn ops_per_sec(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `p`-th percentile latency in milliseconds (p in 0..=100).
    pub fn latency_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((p / 100.0) * (self.latencies_us.len() - 1) as f64).round() as usize;
        self.latencies_us[i.min(self.latencies_us.len() - 1)] as f64 / 1000.0
    }
}

/// How a load run is shaped.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Concurrent logical clients.
    pub clients: usize,
    /// Requests each client makes, one after another.
    pub requests_per_client: usize,
    /// Bytes of each operation.
    pub op_bytes: usize,
    /// Give up after this long.
    pub timeout: Duration,
    /// Client retransmission period.
    pub retry: Duration,
}

struct Logical {
    client: Client,
    left: usize,
    started: Option<Instant>,
    deadline: Option<Instant>,
}

/// Fetches the configuration from `peer` over the control protocol.
pub async fn fetch_configuration(peer: &str, timeout: Duration) -> anyhow::Result<Configuration> {
    let key = SecretKey::generate(&mut rand::rngs::OsRng);
    fetch_configuration_as(peer, &key, timeout).await
}

/// As [`fetch_configuration`], over a connection authenticated as `key`.
async fn fetch_configuration_as(
    peer: &str,
    key: &SecretKey,
    timeout: Duration,
) -> anyhow::Result<Configuration> {
    match client::request_as(peer, key, Request::Configuration, timeout).await? {
        Response::Config { config, .. } => Ok(*config),
        other => bail!("{peer} answered the configuration request with {other:?}"),
    }
}

/// Runs `spec` against the MS of the system `bootstrap` belongs to. `progress` is called with
/// the number of completed requests whenever one completes.
pub async fn load(
    bootstrap: &str,
    spec: LoadSpec,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<LoadReport> {
    let identity = SecretKey::generate(&mut rand::rngs::OsRng);
    let (mut swarm, cfg, peers) = connect(bootstrap, &identity, spec.timeout).await?;
    let mut rng = rand::rngs::OsRng;
    let first_ts = micros_now();
    let mut logical: Vec<Logical> = (0..spec.clients)
        .map(|_| Logical {
            client: Client::new(
                cfg.clone(),
                SecretKey::generate(&mut rng),
                first_ts,
                spec.retry.as_millis() as u64,
            ),
            left: spec.requests_per_client,
            started: None,
            deadline: None,
        })
        .collect();
    let by_key: HashMap<[u8; 32], usize> = logical
        .iter()
        .enumerate()
        .map(|(i, l)| (l.client_key(), i))
        .collect();
    let t0 = Instant::now();
    let mut report = LoadReport {
        ok: 0,
        elapsed: Duration::ZERO,
        latencies_us: Vec::new(),
    };
    for l in logical.iter_mut() {
        submit(&mut swarm, &peers, l, spec.op_bytes, &mut rng);
    }
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let total = (spec.clients * spec.requests_per_client) as u64;
    while report.ok < total {
        if t0.elapsed() > spec.timeout {
            bail!(
                "only {} of {total} requests completed within {}s",
                report.ok,
                spec.timeout.as_secs()
            );
        }
        tokio::select! {
            ev = swarm.select_next_some() => {
                let SwarmEvent::Behaviour(BehaviourEvent::Order(request_response::Event::Message {
                    message: Message::Response { response, .. }, ..
                })) = ev else { continue };
                let Some(&i) = by_key.get(&response.reply.client.to_bytes()) else { continue };
                let acts = logical[i].client.on_reply(response);
                if perform(&mut swarm, &peers, &mut logical[i], acts, &mut report) {
                    progress(report.ok);
                    if logical[i].left > 0 {
                        submit(&mut swarm, &peers, &mut logical[i], spec.op_bytes, &mut rng);
                    }
                }
            }
            _ = tick.tick() => {
                let now = Instant::now();
                for l in logical.iter_mut().filter(|l| l.deadline.is_some_and(|d| d <= now)) {
                    let acts = l.client.on_timer();
                    perform(&mut swarm, &peers, l, acts, &mut report);
                }
            }
        }
    }
    report.elapsed = t0.elapsed();
    report.latencies_us.sort_unstable();
    Ok(report)
}

/// Dials the MS replicas of the system `bootstrap` belongs to as `identity` and waits for a
/// quorum of them.
async fn connect(
    bootstrap: &str,
    identity: &SecretKey,
    timeout: Duration,
) -> anyhow::Result<(Swarm<Behaviour>, pbft::Config, Vec<PeerId>)> {
    let config = fetch_configuration_as(bootstrap, identity, Duration::from_secs(10)).await?;
    let cfg = pbft::Config::for_ms(&config);
    let peers: Vec<PeerId> = cfg.replicas.iter().map(peer_id_of).collect();
    let timing = Timing {
        request_timeout: timeout,
        idle_timeout: timeout,
    };
    let mut swarm = behaviour::build(keypair_of(identity), timing)?;
    for id in &config.ms_group {
        let Some(m) = config.member(id) else { continue };
        let (addrs, _) = parse_addrs(&m.addrs);
        swarm.dial(
            DialOpts::peer_id(peer_id_of(&m.key))
                .addresses(addrs)
                .build(),
        )?;
    }
    wait_connected(&mut swarm, &peers, cfg.quorum(), Duration::from_secs(20)).await?;
    Ok((swarm, cfg, peers))
}

/// Microseconds since the Unix epoch: request timestamps of a client key that is used across
/// runs (the authority's) must keep increasing.
fn micros_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(1)
}

/// Orders one operation signed by `key` through the MS of the system `bootstrap` belongs
/// to, and returns the result f+1 replicas agreed on.
pub async fn submit_one(
    bootstrap: &str,
    key: SecretKey,
    op: Vec<u8>,
    timeout: Duration,
) -> anyhow::Result<Vec<u8>> {
    // Connections authenticated as the signer: nodes let the authority's and members' past
    // the connection bounds an outsider's flood may fill.
    let (mut swarm, cfg, peers) = connect(bootstrap, &key, timeout).await?;
    let mut client = Client::new(cfg, key, micros_now(), 2000);
    let Some(mut acts) = client.submit(op) else {
        bail!("the client is busy");
    };
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut retry_at: Option<Instant> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        for a in std::mem::take(&mut acts) {
            match a {
                ClientAction::Send { request, .. } | ClientAction::Broadcast(request) => {
                    send_all(&mut swarm, &peers, &request)
                }
                ClientAction::SetTimer { after_ms } => {
                    retry_at = Some(Instant::now() + Duration::from_millis(after_ms))
                }
                ClientAction::CancelTimer => retry_at = None,
                ClientAction::Done { result, .. } => return Ok(result),
            }
        }
        tokio::select! {
            ev = swarm.select_next_some() => {
                if let SwarmEvent::Behaviour(BehaviourEvent::Order(request_response::Event::Message {
                    message: Message::Response { response, .. }, ..
                })) = ev {
                    acts = client.on_reply(response);
                }
            }
            _ = tick.tick() => {
                if retry_at.is_some_and(|t| t <= Instant::now()) {
                    retry_at = None;
                    acts = client.on_timer();
                }
            }
            _ = &mut deadline => bail!(
                "no f+1 matching replies from the MS within {}s (is this key admitted by the application?)",
                timeout.as_secs()
            ),
        }
    }
}

impl Logical {
    fn client_key(&self) -> [u8; 32] {
        self.client.public().to_bytes()
    }
}

fn submit(
    swarm: &mut Swarm<Behaviour>,
    peers: &[PeerId],
    l: &mut Logical,
    op_bytes: usize,
    rng: &mut impl RngCore,
) {
    let mut op = vec![0u8; op_bytes];
    rng.fill_bytes(&mut op);
    if let Some(acts) = l.client.submit(op) {
        l.started = Some(Instant::now());
        let mut none = LoadReport {
            ok: 0,
            elapsed: Duration::ZERO,
            latencies_us: vec![],
        };
        perform(swarm, peers, l, acts, &mut none);
    }
}

/// Performs a client's actions; true if a request completed.
fn perform(
    swarm: &mut Swarm<Behaviour>,
    peers: &[PeerId],
    l: &mut Logical,
    acts: Vec<ClientAction>,
    report: &mut LoadReport,
) -> bool {
    let mut done = false;
    for a in acts {
        match a {
            ClientAction::Send { request, .. } | ClientAction::Broadcast(request) => {
                send_all(swarm, peers, &request)
            }
            ClientAction::SetTimer { after_ms } => {
                l.deadline = Some(Instant::now() + Duration::from_millis(after_ms))
            }
            ClientAction::CancelTimer => l.deadline = None,
            ClientAction::Done { .. } => {
                if let Some(s) = l.started.take() {
                    report.latencies_us.push(s.elapsed().as_micros() as u64);
                }
                report.ok += 1;
                l.left = l.left.saturating_sub(1);
                done = true;
            }
        }
    }
    done
}

fn send_all(swarm: &mut Swarm<Behaviour>, peers: &[PeerId], request: &SignedRequest) {
    for p in peers {
        swarm.behaviour_mut().order.send_request(p, request.clone());
    }
}

async fn wait_connected(
    swarm: &mut Swarm<Behaviour>,
    peers: &[PeerId],
    need: usize,
    limit: Duration,
) -> anyhow::Result<()> {
    let deadline = tokio::time::sleep(limit);
    tokio::pin!(deadline);
    loop {
        let connected = peers.iter().filter(|p| swarm.is_connected(p)).count();
        if connected >= need {
            return Ok(());
        }
        tokio::select! {
            _ = swarm.select_next_some() => {}
            _ = &mut deadline => bail!("connected to {connected} of {} MS replicas; {need} needed", peers.len()),
        }
    }
}

/// Parses `--peer` style arguments.
pub fn parse_peer(s: &str) -> anyhow::Result<Multiaddr> {
    s.parse()
        .with_context(|| format!("{s:?} is not a multiaddr"))
}
