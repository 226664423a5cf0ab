//! Authority certificates (`Certificate::from_bytes`, bound `CERT_BYTES_MAX`), verified
//! against the fixture authority.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overlay::cert::Certificate;
use overlay::constants::CERT_BYTES_MAX;
use rampart_fuzz::{AUTHORITY, NOW, roundtrip};

fuzz_target!(|data: &[u8]| {
    let Ok(c) = Certificate::from_bytes(data) else {
        return;
    };
    let again = roundtrip(&c, data, CERT_BYTES_MAX);
    assert!(Certificate::from_bytes(&again.to_bytes()).ok() == Some(c.clone()));
    let _ = c.id();
    let _ = c.content.body.check_bounds();
    let _ = bootstrap::certfile::describe(&c.content.body);
    if let Ok(body) = c.verify(&AUTHORITY, NOW) {
        assert!(body.check_bounds().is_ok());
    }
    let _ = c.verify(&c.authority, NOW);
});
