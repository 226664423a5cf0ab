//! Configurations (`Configuration::from_bytes`: decode under `CONFIG_BYTES_MAX`, then
//! validate), as a node takes them from a peer or its data directory: hashed, its ring
//! built, its MS instance derived, and the delta from the configuration held computed and
//! applied (which must give it back exactly).
#![no_main]

use libfuzzer_sys::fuzz_target;
use overlay::config::{Configuration, Delta, ms_group_size};
use overlay::constants::CONFIG_BYTES_MAX;
use overlay::ring::Ring;
use rampart_fuzz::{CONFIG, roundtrip};

fuzz_target!(|data: &[u8]| {
    let Ok(c) = Configuration::from_bytes(data) else {
        return;
    };
    let again = roundtrip(&c, data, CONFIG_BYTES_MAX);
    assert!(Configuration::from_bytes(&again.to_bytes()).ok() == Some(c.clone()));
    let ring = Ring::of(&c);
    for m in &c.members {
        assert!(c.member(&m.id()).is_some());
        let _ = ring.ranges_of(&m.id());
    }
    assert_eq!(c.ms_group.len(), ms_group_size(c.f_ms, c.members.len()));
    let pbft = overlay::pbft::Config::for_ms(&c);
    let _ = pbft.validate();
    let d = Delta::between(&CONFIG, &c);
    match d.apply(&CONFIG) {
        Ok(back) => assert!(back == c, "the delta to a configuration does not give it"),
        Err(e) => panic!("the delta to a configuration does not apply: {e}"),
    }
});
