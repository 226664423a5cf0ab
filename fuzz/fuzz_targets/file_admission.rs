//! Admission files (`bootstrap::admission::parse`: magic line, then the `Add` certificate
//! and the two public keys; the certificate is checked at a fixed time).
#![no_main]

use bootstrap::admission::{self, Admission};
use libfuzzer_sys::fuzz_target;
use overlay::encoding::encode;
use rampart_fuzz::{NOW, file_bytes};

fuzz_target!(|data: &[u8]| {
    let Ok(a) = admission::parse(data, NOW) else {
        return;
    };
    assert!(a.node().is_some());
    let again = file_bytes("rampart-admission/1", &encode(&a));
    assert!(again.len() <= data.len());
    let back: Admission = admission::parse(&again, NOW).expect("a written admission parses");
    assert!(back == a);
});
