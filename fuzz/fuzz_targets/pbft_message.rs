//! PBFT messages between MS replicas (`overlay::pbft::Signed`): decoded under the message
//! bound, verified against the fixture MS instance, and fed to a replica of it running the
//! MS application (a backup, then the primary of view 0).
#![no_main]

use libfuzzer_sys::fuzz_target;
use overlay::pbft::{Event, MESSAGE_BYTES_MAX, Signed};
use rampart_fuzz::{pbft_config, replica, roundtrip};

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Signed::from_bytes(data) else {
        return;
    };
    let again = roundtrip(&m, data, MESSAGE_BYTES_MAX);
    assert!(Signed::from_bytes(&again.to_bytes()) == Ok(m.clone()));
    let cfg = pbft_config();
    if m.verify(&cfg).is_err() {
        return;
    }
    for idx in [1, 0] {
        let mut r = replica(idx);
        let _ = r.on_event(Event::Message(m.clone()));
    }
});
