//! Mapping between libp2p peer ids and Rampart node keys.
//!
//! A node's libp2p identity is its Ed25519 node key, so the Noise handshake authenticates the
//! key itself; we dial members with their expected peer id and libp2p refuses a mismatch.

use libp2p::{Multiaddr, PeerId, identity};
use overlay::crypto::PublicKey;

/// The libp2p peer id of the node holding `key`.
pub fn peer_id_of(key: &PublicKey) -> PeerId {
    match identity::ed25519::PublicKey::try_from_bytes(key.as_bytes()) {
        Ok(pk) => identity::PublicKey::from(pk).to_peer_id(),
        // Keys in configurations were validated as Ed25519 points when decoded.
        Err(_) => unreachable!("a validated Ed25519 key converts to a libp2p key"),
    }
}

/// The libp2p keypair of a node key.
pub fn keypair_of(key: &overlay::crypto::SecretKey) -> identity::Keypair {
    let seed = key.seed();
    match identity::Keypair::ed25519_from_bytes(seed) {
        Ok(kp) => kp,
        Err(_) => unreachable!("any 32-byte seed is an Ed25519 secret key"),
    }
}

/// Parses member addresses, skipping (and reporting) any that do not parse.
pub fn parse_addrs(addrs: &[String]) -> (Vec<Multiaddr>, Vec<String>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for a in addrs {
        match a.parse::<Multiaddr>() {
            Ok(m) => good.push(m),
            Err(e) => bad.push(format!("{a}: {e}")),
        }
    }
    (good, bad)
}
