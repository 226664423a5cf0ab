//! The check made before listening: libp2p sets SO_REUSEPORT on its listeners, so a second
//! node told the same port would start without error and the kernel would split incoming
//! connections between the two. An operator gets a clear error instead.

use std::net::{IpAddr, SocketAddr, TcpListener};

use anyhow::bail;
use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;

/// Fails when another socket already listens on the TCP address in `addr`.
///
/// The probe binds without SO_REUSEPORT (std sets only SO_REUSEADDR on Unix, which lets a
/// restarted node bind past its old connections in TIME_WAIT but not past a listener).
pub fn refuse_taken(addr: &Multiaddr) -> anyhow::Result<()> {
    let Some(socket) = tcp_socket(addr) else {
        return Ok(());
    };
    if socket.port() == 0 {
        return Ok(());
    }
    match TcpListener::bind(socket) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            bail!("cannot listen on {addr}: another process already listens on {socket}")
        }
        // Other errors (an address not on this host ...) are left to libp2p to report.
        Err(_) => Ok(()),
    }
}

fn tcp_socket(addr: &Multiaddr) -> Option<SocketAddr> {
    let mut ip: Option<IpAddr> = None;
    for p in addr.iter() {
        match p {
            Protocol::Ip4(a) => ip = Some(a.into()),
            Protocol::Ip6(a) => ip = Some(a.into()),
            Protocol::Tcp(port) => return ip.map(|ip| SocketAddr::new(ip, port)),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_another_listener_holds_is_refused_with_its_address() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let addr: Multiaddr = format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap();
        let err = refuse_taken(&addr).unwrap_err().to_string();
        assert!(err.contains("already listens on 127.0.0.1:"), "{err}");
        drop(taken);
        refuse_taken(&addr).unwrap();
    }

    #[test]
    fn port_zero_and_non_tcp_addresses_pass() {
        refuse_taken(&"/ip4/127.0.0.1/tcp/0".parse().unwrap()).unwrap();
        refuse_taken(&"/ip4/127.0.0.1/udp/9/quic-v1".parse().unwrap()).unwrap();
    }
}
