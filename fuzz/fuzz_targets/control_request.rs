//! The control protocol's requests (`overlay::wire::Request`), as a node receives them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overlay::ms::Op;
use overlay::wire::{REQUEST_BYTES_MAX, Request};
use rampart_fuzz::{AUTHORITY, NOW, STATE, gate, key, roundtrip};

fuzz_target!(|data: &[u8]| {
    let Ok(req) = Request::from_bytes(data) else {
        return;
    };
    let again = roundtrip(&req, data, REQUEST_BYTES_MAX);
    assert!(Request::from_bytes(&again.to_bytes()) == Ok(req.clone()));
    match req {
        // An analyst's credential is checked like a client's.
        Request::Analyze(cert) => {
            let _ = gate().admit_analyst(&cert, None);
        }
        // An admission is relayed to the MS as an `Add`, which checks it.
        Request::Admit(cert) => {
            let _ = cert.verify(&AUTHORITY, NOW);
            let mut s = STATE.clone();
            let _ = s.apply(&key(1).public(), Op::Add(*cert));
        }
        _ => {}
    }
});
