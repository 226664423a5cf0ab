//! Certificate files (`bootstrap::certfile::parse`: magic line, then the certificate).
#![no_main]

use bootstrap::certfile;
use libfuzzer_sys::fuzz_target;
use rampart_fuzz::{AUTHORITY, NOW, file_bytes};

fuzz_target!(|data: &[u8]| {
    let Ok(c) = certfile::parse(data) else {
        return;
    };
    let again = file_bytes("rampart-certificate/1", &c.to_bytes());
    assert!(again.len() <= data.len());
    assert!(certfile::parse(&again).ok() == Some(c.clone()));
    let _ = certfile::describe(&c.content.body);
    let _ = c.verify(&AUTHORITY, NOW);
});
