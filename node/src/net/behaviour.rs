// The `NetworkBehaviour` derive generates a public event enum without doc comments.
#![allow(missing_docs)]

//! The node's composed libp2p behaviour and how a swarm is built.

use std::time::Duration;

use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{Swarm, connection_limits, gossipsub, identify, noise, ping, tcp, yamux};
use overlay::constants::{CONNECTIONS_INCOMING_MAX, CONNECTIONS_PENDING_MAX, CONNECTIONS_PER_PEER};

use super::ip_limits::IpLimits;

use super::codec::{
    CONTROL, ControlCodec, ORDER, OrderCodec, PBFT, PbftCodec, TRANSFER, TSIG, TransferCodec,
    TsigCodec,
};

/// Identify's protocol version string.
pub const IDENTIFY_PROTOCOL: &str = "/rampart/id/1";

/// Every protocol a node speaks.
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    /// Bounds on connections in all and per peer; members are let past them.
    pub limits: connection_limits::Behaviour,
    /// Bounds on incoming connections per IP address.
    pub ip_limits: IpLimits,
    /// Learns peers' listen addresses and agent versions.
    pub identify: identify::Behaviour,
    /// Measures round-trip times and notices dead connections.
    pub ping: ping::Behaviour,
    /// Status and configuration exchange.
    pub control: request_response::Behaviour<ControlCodec>,
    /// PBFT messages between MS replicas.
    pub pbft: request_response::Behaviour<PbftCodec>,
    /// Client requests to the ordering service.
    pub order: request_response::Behaviour<OrderCodec>,
    /// Threshold signing rounds.
    pub tsig: request_response::Behaviour<TsigCodec>,
    /// State transfer between replicas.
    pub transfer: request_response::Behaviour<TransferCodec>,
    /// Gossip: liveness probes.
    pub gossip: gossipsub::Behaviour,
    /// Long-lived streams: dBQS between clients and replicas (`store_stream`).
    pub stream: libp2p_stream::Behaviour,
}

/// The gossip topic probes travel on.
pub const PROBE_TOPIC: &str = "/rampart/probe/1";
/// The gossip topic new epochs' certificates and deltas travel on.
pub const EPOCH_TOPIC: &str = "/rampart/epoch/1";

/// Gossip bounds: probes are a few hundred bytes, epoch news up to a delta's size (each
/// decoder enforces its own bound).
fn gossip(key: &libp2p::identity::Keypair) -> anyhow::Result<gossipsub::Behaviour> {
    let config = gossipsub::ConfigBuilder::default()
        .heartbeat_interval(Duration::from_millis(500))
        .max_transmit_size(overlay::epoch::news::NEWS_BYTES_MAX)
        .validation_mode(gossipsub::ValidationMode::Strict)
        // Forwarded only once the node checked it (`swarm/gossip.rs`): junk is not relayed.
        .validate_messages()
        .build()
        .map_err(|e| anyhow::anyhow!("gossip configuration: {e}"))?;
    gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Signed(key.clone()), config)
        .map_err(|e| anyhow::anyhow!("gossip: {e}"))
}

/// Concurrent store requests on one connection (each holds at most one maximal message).
pub const STORE_STREAMS_MAX: usize = 64;

/// Network timing knobs.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// How long a request may wait for its response.
    pub request_timeout: Duration,
    /// How long an idle connection stays open.
    pub idle_timeout: Duration,
}

fn rr<
    C: request_response::Codec<Protocol = libp2p::StreamProtocol> + Default + Clone + Send + 'static,
>(
    protocol: libp2p::StreamProtocol,
    timeout: Duration,
    streams: usize,
) -> request_response::Behaviour<C> {
    request_response::Behaviour::new(
        [(protocol, ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(timeout)
            .with_max_concurrent_streams(streams),
    )
}

/// Builds a swarm over TCP + Noise + Yamux with `keypair` as its identity.
pub fn build(
    keypair: libp2p::identity::Keypair,
    timing: Timing,
) -> anyhow::Result<Swarm<Behaviour>> {
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_behaviour(|key| behaviour(key, timing))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(timing.idle_timeout))
        .build();
    Ok(swarm)
}

/// Every protocol a node speaks, for a swarm whose identity is `key` (a swarm built over
/// another transport, as the flood tests' is, uses it too).
pub fn behaviour(
    key: &libp2p::identity::Keypair,
    timing: Timing,
) -> Result<Behaviour, Box<dyn std::error::Error + Send + Sync>> {
    Ok(Behaviour {
        limits: connection_limits::Behaviour::new(
            connection_limits::ConnectionLimits::default()
                .with_max_pending_incoming(Some(CONNECTIONS_PENDING_MAX))
                .with_max_established_incoming(Some(CONNECTIONS_INCOMING_MAX))
                .with_max_established_per_peer(Some(CONNECTIONS_PER_PEER)),
        ),
        ip_limits: IpLimits::default(),
        identify: identify::Behaviour::new(
            identify::Config::new(IDENTIFY_PROTOCOL.to_string(), key.public())
                .with_agent_version(format!("rampart/{}", env!("CARGO_PKG_VERSION"))),
        ),
        ping: ping::Behaviour::new(ping::Config::new()),
        control: rr(CONTROL, timing.request_timeout, 64),
        pbft: rr(PBFT, timing.request_timeout, 1024),
        order: rr(
            ORDER,
            timing.request_timeout.max(Duration::from_secs(30)),
            4096,
        ),
        tsig: rr(
            TSIG,
            timing.request_timeout.min(Duration::from_secs(5)),
            256,
        ),
        transfer: rr(TRANSFER, timing.request_timeout, STORE_STREAMS_MAX),
        gossip: gossip(key).map_err(|e| e.to_string())?,
        stream: libp2p_stream::Behaviour::new(),
    })
}
