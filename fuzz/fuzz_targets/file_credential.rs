//! Client credential files (`bootstrap::credential::parse`: magic line, then the secret
//! key's seed and the client certificate, which must name that key).
#![no_main]

use bootstrap::credential;
use libfuzzer_sys::fuzz_target;
use overlay::cert::CertBody;
use rampart_fuzz::{AUTHORITY, NOW};

fuzz_target!(|data: &[u8]| {
    let Ok(c) = credential::parse(data) else {
        return;
    };
    assert!(matches!(&c.cert.content.body, CertBody::Client { key, .. } if *key == c.key.public()));
    let _ = c.cert.verify(&AUTHORITY, NOW);
});
