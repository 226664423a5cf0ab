//! A client's store request (`overlay::dbqs::wire::StoreRequest`), as a dBQS replica
//! receives it: the gate's checks (credential, capability, version owner, manifest, range),
//! then the replica's handling against an in-memory store.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overlay::cert::CertBody;
use overlay::dbqs::mem::MemStore;
use overlay::dbqs::replica::handle_noting;
use overlay::dbqs::wire::{STORE_REQUEST_BYTES_MAX, StoreRequest};
use overlay::encoding::decode;
use rampart_fuzz::{gate, roundtrip};

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = decode::<StoreRequest>(data, STORE_REQUEST_BYTES_MAX) else {
        return;
    };
    roundtrip(&msg, data, STORE_REQUEST_BYTES_MAX);
    // The connection proved the key the credential names (the best case for the sender).
    let peer = match &msg.credential.content.body {
        CertBody::Client { key, .. } => Some(*key),
        _ => None,
    };
    let g = gate();
    let _ = g.admit(&msg, peer.as_ref(), &|_| false);
    // With the credential's signature cached as good, the checks after it run too.
    if g.admit(&msg, peer.as_ref(), &|_| true).is_ok() {
        let mut store = MemStore::default();
        let (_reply, _evidence) = handle_noting(&mut store, msg.req.clone());
        // Again, now that the store holds what the request wrote.
        let (_reply, _evidence) = handle_noting(&mut store, msg.req);
    }
});
