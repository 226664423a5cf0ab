//! A dial-only TCP transport that binds each connection to a chosen source address, so that
//! identities of a flood on one machine come from several loopback hosts (127.0.0.x).
//! libp2p's own TCP transport binds dials to the unspecified address, and the kernel then
//! picks 127.0.0.1 for every one.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use libp2p::core::transport::{DialOpts, ListenerId, TransportError, TransportEvent};
use libp2p::core::upgrade::Version;
use libp2p::multiaddr::Protocol;
use libp2p::tcp::tokio::TcpStream;
use libp2p::{Multiaddr, Swarm, Transport, noise, yamux};
use rampart::net::behaviour::{self, Behaviour, Timing};

/// Dials from `source`; listens nowhere.
pub struct SourceTcp {
    source: Ipv4Addr,
}

impl Transport for SourceTcp {
    type Output = TcpStream;
    type Error = io::Error;
    type ListenerUpgrade = futures::future::Pending<Result<TcpStream, io::Error>>;
    type Dial = BoxFuture<'static, Result<TcpStream, io::Error>>;

    fn listen_on(
        &mut self,
        _: ListenerId,
        addr: Multiaddr,
    ) -> Result<(), TransportError<io::Error>> {
        Err(TransportError::MultiaddrNotSupported(addr))
    }

    fn remove_listener(&mut self, _: ListenerId) -> bool {
        false
    }

    fn dial(
        &mut self,
        addr: Multiaddr,
        _: DialOpts,
    ) -> Result<Self::Dial, TransportError<io::Error>> {
        let mut it = addr.iter();
        let target = match (it.next(), it.next()) {
            (Some(Protocol::Ip4(ip)), Some(Protocol::Tcp(port))) => SocketAddr::from((ip, port)),
            _ => return Err(TransportError::MultiaddrNotSupported(addr)),
        };
        let source = SocketAddr::from((self.source, 0));
        Ok(async move {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(source)?;
            socket.set_nodelay(true)?;
            Ok(TcpStream(socket.connect(target).await?))
        }
        .boxed())
    }

    fn poll(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<TransportEvent<Self::ListenerUpgrade, io::Error>> {
        Poll::Pending
    }
}

/// A swarm speaking every node protocol, identified by `keypair`, dialling from `source`.
pub fn swarm(
    keypair: libp2p::identity::Keypair,
    source: Ipv4Addr,
    timing: Timing,
) -> anyhow::Result<Swarm<Behaviour>> {
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_other_transport(
            |key| -> Result<_, Box<dyn std::error::Error + Send + Sync>> {
                Ok(SourceTcp { source }
                    .upgrade(Version::V1Lazy)
                    .authenticate(noise::Config::new(key)?)
                    .multiplex(yamux::Config::default())
                    .timeout(Duration::from_secs(10)))
            },
        )?
        .with_behaviour(|key| behaviour::behaviour(key, timing))
        .map_err(|e| anyhow::anyhow!("behaviour: {e}"))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(timing.idle_timeout))
        .build();
    Ok(swarm)
}
