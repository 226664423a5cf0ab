//! Analyst tokens (`AnalystToken::from_hex`), as the HTTP analyser takes them from a header
//! or a query, checked at the fixture gate.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overlay::analyst::AnalystToken;
use rampart_fuzz::gate;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(t) = AnalystToken::from_hex(text) else {
        return;
    };
    assert!(AnalystToken::from_hex(&t.to_hex()).ok() == Some(t.clone()));
    let _ = t.check(&gate());
});
