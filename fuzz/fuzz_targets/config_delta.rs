//! Configuration deltas (`overlay::config::Delta`, carried by epoch news under
//! `NEWS_BYTES_MAX`), applied to the configuration held.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overlay::config::Delta;
use overlay::encoding::decode;
use overlay::epoch::news::NEWS_BYTES_MAX;
use rampart_fuzz::{CONFIG, roundtrip};

fuzz_target!(|data: &[u8]| {
    let Ok(d) = decode::<Delta>(data, NEWS_BYTES_MAX) else {
        return;
    };
    roundtrip(&d, data, NEWS_BYTES_MAX);
    let _ = d.hash();
    if let Ok(next) = d.apply(&CONFIG) {
        assert!(next.hash() == d.to_hash);
        let _ = next.validate();
    }
});
