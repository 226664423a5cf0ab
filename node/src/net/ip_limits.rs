//! Incoming connections per IP address, in the handshake and established, so that one host
//! with a thousand made-up peer ids cannot take every connection slot. Members of the current
//! configuration are not counted (they are bounded by the configuration itself). libp2p's
//! `connection_limits` keeps the totals and the per-peer bound beside this.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::net::IpAddr;
use std::task::{Context, Poll};

use libp2p::core::Endpoint;
use libp2p::core::transport::PortUse;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{
    ConnectionClosed, ConnectionDenied, ConnectionId, FromSwarm, ListenFailure, NetworkBehaviour,
    THandler, THandlerInEvent, THandlerOutEvent, ToSwarm, dummy,
};
use libp2p::{Multiaddr, PeerId};
use overlay::constants::{CONNECTIONS_PENDING_PER_IP, CONNECTIONS_PER_IP};
use overlay::guard::{Class, ShareLimits, Shares};

/// Per-IP bounds on incoming connections.
pub struct IpLimits {
    pending: Shares<IpAddr>,
    established: Shares<IpAddr>,
    /// What each counted connection holds: its IP, and whether it is established.
    held: HashMap<ConnectionId, (IpAddr, bool)>,
    members: HashSet<PeerId>,
    early_refused: u64,
}

/// A connection refused at a per-IP bound.
#[derive(Debug, thiserror::Error)]
#[error("too many connections from {ip} ({limit} at most)")]
pub struct TooMany {
    ip: IpAddr,
    limit: usize,
}

fn limits(per_ip: usize) -> ShareLimits {
    ShareLimits {
        total: usize::MAX,
        per_party: per_ip,
        reserved: 0,
    }
}

impl Default for IpLimits {
    fn default() -> Self {
        IpLimits::new(CONNECTIONS_PENDING_PER_IP, CONNECTIONS_PER_IP)
    }
}

impl IpLimits {
    /// Bounds of `pending` handshakes and `established` connections per IP.
    pub fn new(pending: usize, established: usize) -> IpLimits {
        IpLimits {
            pending: Shares::new(limits(pending)),
            established: Shares::new(limits(established)),
            held: HashMap::new(),
            members: HashSet::new(),
            early_refused: 0,
        }
    }

    /// The current configuration's members, whose connections are not counted.
    pub fn set_members(&mut self, members: impl IntoIterator<Item = PeerId>) {
        self.members = members.into_iter().collect();
    }

    /// Connections refused so far.
    pub fn refused(&self) -> u64 {
        self.pending.refused() + self.established.refused() + self.early_refused
    }

    fn release(&mut self, id: ConnectionId) {
        match self.held.remove(&id) {
            Some((ip, false)) => self.pending.give_back(&ip),
            Some((ip, true)) => self.established.give_back(&ip),
            None => {}
        }
    }
}

fn ip_of(addr: &Multiaddr) -> Option<IpAddr> {
    addr.iter().find_map(|p| match p {
        Protocol::Ip4(a) => Some(IpAddr::from(a)),
        Protocol::Ip6(a) => Some(IpAddr::from(a)),
        _ => None,
    })
}

impl NetworkBehaviour for IpLimits {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        id: ConnectionId,
        _local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        let Some(ip) = ip_of(remote) else {
            return Ok(());
        };
        // A host at its bound of established connections is refused before the handshake:
        // otherwise each of its retries costs a full Noise handshake before being refused.
        let limit = self.established.limits().per_party;
        if self.established.held_by(&ip) >= limit {
            self.early_refused += 1;
            return Err(ConnectionDenied::new(TooMany { ip, limit }));
        }
        self.pending.take(&ip, Class::Outside).map_err(|_| {
            ConnectionDenied::new(TooMany {
                ip,
                limit: self.pending.limits().per_party,
            })
        })?;
        self.held.insert(id, (ip, false));
        Ok(())
    }

    fn handle_established_inbound_connection(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        _local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.release(id);
        let Some(ip) = ip_of(remote) else {
            return Ok(dummy::ConnectionHandler);
        };
        if self.members.contains(&peer) {
            return Ok(dummy::ConnectionHandler);
        }
        self.established.take(&ip, Class::Outside).map_err(|_| {
            ConnectionDenied::new(TooMany {
                ip,
                limit: self.established.limits().per_party,
            })
        })?;
        self.held.insert(id, (ip, true));
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _id: ConnectionId,
        _peer: PeerId,
        _addr: &Multiaddr,
        _role: Endpoint,
        _port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionClosed(ConnectionClosed { connection_id, .. })
            | FromSwarm::ListenFailure(ListenFailure { connection_id, .. }) => {
                self.release(connection_id)
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _peer: PeerId,
        _id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Infallible, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(ip: &str) -> Multiaddr {
        format!("/ip4/{ip}/tcp/4000").parse().unwrap()
    }

    fn local() -> Multiaddr {
        addr("127.0.0.1")
    }

    #[test]
    fn one_host_gets_its_share_of_handshakes_and_connections_and_another_host_is_not_slowed() {
        let mut l = IpLimits::new(2, 3);
        let a = addr("10.0.0.1");
        let pending = |l: &mut IpLimits, n| {
            l.handle_pending_inbound_connection(ConnectionId::new_unchecked(n), &local(), &a)
        };
        pending(&mut l, 1).unwrap();
        pending(&mut l, 2).unwrap();
        assert!(pending(&mut l, 3).is_err());
        let b = addr("10.0.0.2");
        l.handle_pending_inbound_connection(ConnectionId::new_unchecked(4), &local(), &b)
            .unwrap();
        // Established connections leave the handshake count and take the other.
        for n in 1..=2 {
            let id = ConnectionId::new_unchecked(n);
            l.handle_established_inbound_connection(id, PeerId::random(), &local(), &a)
                .unwrap();
        }
        pending(&mut l, 5).unwrap();
        let id = ConnectionId::new_unchecked(5);
        l.handle_established_inbound_connection(id, PeerId::random(), &local(), &a)
            .unwrap();
        // At its bound of established connections, the host is refused before a handshake.
        assert!(pending(&mut l, 6).is_err());
        assert_eq!(l.refused(), 2);
    }

    #[test]
    fn members_are_not_counted() {
        let mut l = IpLimits::new(4, 1);
        let member = PeerId::random();
        l.set_members([member]);
        let a = addr("10.0.0.1");
        for n in 1..=3 {
            let id = ConnectionId::new_unchecked(n);
            l.handle_pending_inbound_connection(id, &local(), &a)
                .unwrap();
            l.handle_established_inbound_connection(id, member, &local(), &a)
                .unwrap();
        }
        let id = ConnectionId::new_unchecked(9);
        l.handle_pending_inbound_connection(id, &local(), &a)
            .unwrap();
        l.handle_established_inbound_connection(id, PeerId::random(), &local(), &a)
            .unwrap();
        assert_eq!(l.refused(), 0);
    }
}
