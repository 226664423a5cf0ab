//! PBFT client messages, as the ORDER protocol carries them (bound `OP_BYTES_MAX + 1024`):
//! a client's `SignedRequest`, verified and fed to a replica (the primary, which batches
//! it, and a backup, which relays it); a replica's `SignedReply`, fed to a client waiting
//! for it, and its result decoded as an MS receipt.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overlay::encoding::decode;
use overlay::ms::MsApp;
use overlay::pbft::{Event, OP_BYTES_MAX, SignedReply, SignedRequest};
use rampart_fuzz::{pbft_client, replica, roundtrip};

const MAX: usize = OP_BYTES_MAX + 1024;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = decode::<SignedRequest>(data, MAX) {
        roundtrip(&r, data, MAX);
        let _ = r.digest();
        if r.verify().is_ok() {
            for idx in [0, 1] {
                let mut rep = replica(idx);
                let _ = rep.on_event(Event::Request(r.clone()));
            }
        }
    }
    if let Ok(r) = decode::<SignedReply>(data, MAX) {
        roundtrip(&r, data, MAX);
        let _ = MsApp::decode_receipt(&r.reply.result);
        let mut c = pbft_client();
        let _ = c.on_reply(r);
    }
});
