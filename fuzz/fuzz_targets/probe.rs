//! Liveness probes from gossip (`overlay::probe::check` against the fixture configuration,
//! bound `PROBE_BYTES_MAX`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use overlay::encoding::decode;
use overlay::probe::{PROBE_BYTES_MAX, ProbeMsg, check};
use rampart_fuzz::{CONFIG, roundtrip};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = decode::<ProbeMsg>(data, PROBE_BYTES_MAX) {
        roundtrip(&m, data, PROBE_BYTES_MAX);
    }
    let checked = check(data, &CONFIG);
    if let Ok(ProbeMsg::Challenge(c, _)) = &checked {
        let _ = c.hash();
    }
});
