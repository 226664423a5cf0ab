//! The control protocol's responses (`overlay::wire::Response`), as a node or the CLI
//! receives them from a peer: configurations with their certificates, status reports,
//! freshness certificates, an MS replica's handover and handed-over state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overlay::constants::WIRE_BYTES_MAX;
use overlay::encoding::decode;
use overlay::ms::State;
use overlay::ms::driver::Driver;
use overlay::ring::Ring;
use overlay::wire::{RESPONSE_BYTES_MAX, Response};
use rampart_fuzz::{MS_KEY, TRACKER, key, roundtrip};

fuzz_target!(|data: &[u8]| {
    let Ok(resp) = Response::from_bytes(data) else {
        return;
    };
    let again = roundtrip(&resp, data, RESPONSE_BYTES_MAX);
    assert!(Response::from_bytes(&again.to_bytes()) == Ok(resp.clone()));
    match resp {
        Response::Config { config, cert } => {
            if config.validate().is_ok() {
                let _ = Ring::of(&config);
            }
            let _ = TRACKER.clone().offer(*config, cert);
        }
        Response::NotNewer { cert } => {
            let _ = cert.verify(&MS_KEY);
        }
        Response::Status(report) => {
            if let Some(store) = &report.store {
                for l in &store.latency {
                    let _ = l.cumulative();
                }
            }
        }
        Response::Freshness(f) => {
            let _ = f.verify(&MS_KEY);
        }
        Response::Handover(Some(h)) => {
            let _ = h.plan();
            // A joining MS holder checks the dealings it is shown and, once the handover
            // is complete, builds its share from them.
            let _ = Driver::new(key(5), None, 1000).tick_outsider(&h);
            let _ = Driver::new(key(1), None, 1000).tick_outsider(&h);
        }
        Response::MsState(bytes) => {
            if let Ok(s) = decode::<State>(&bytes, WIRE_BYTES_MAX) {
                let _ = s.config().hash();
                let _ = s.ms_key();
            }
        }
        Response::Handover(None) | Response::Relayed | Response::Refused(_) => {}
    }
});
