//! Mapping between libp2p peer ids and Rampart node keys.
//!
//! A node's libp2p identity is its Ed25519 node key, so the Noise handshake authenticates the
//! key itself; we dial members with their expected peer id and libp2p refuses a mismatch.

use libp2p::{Multiaddr, PeerId, identity};
use overlay::crypto::PublicKey;

/// The bytes of an Ed25519 peer id before the key: the identity multihash (code 0, 36 bytes)
/// of the key's protobuf encoding (field 1, type Ed25519 = 1; field 2, 32 bytes).
const ED25519_PEER_ID_PREFIX: [u8; 6] = [0x00, 0x24, 0x08, 0x01, 0x12, 0x20];

/// The libp2p peer id of the node holding `key`. Built from the key's bytes as libp2p encodes
/// them: going through libp2p's key type would decompress the point, which cost every store
/// request a third of a signature verification at the replica (a profile of 50-client puts).
pub fn peer_id_of(key: &PublicKey) -> PeerId {
    let mut bytes = [0u8; 38];
    bytes[..6].copy_from_slice(&ED25519_PEER_ID_PREFIX);
    bytes[6..].copy_from_slice(key.as_bytes());
    match PeerId::from_bytes(&bytes) {
        Ok(p) => p,
        Err(_) => unreachable!("an identity multihash of 36 bytes is a peer id"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_id_built_from_the_bytes_is_libp2ps() {
        for seed in 0..16u8 {
            let key = overlay::crypto::SecretKey::from_seed(&[seed; 32]).public();
            let pk = identity::ed25519::PublicKey::try_from_bytes(key.as_bytes()).unwrap();
            assert_eq!(peer_id_of(&key), identity::PublicKey::from(pk).to_peer_id());
        }
    }
}
