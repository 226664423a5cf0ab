//! The admin's registry (`bootstrap::registry::Registry::parse`, JSON): listed, searched,
//! and written back.
#![no_main]

use bootstrap::registry::Registry;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(r) = Registry::parse(data) else {
        return;
    };
    let _ = r.nodes(1_000_000);
    let _ = r.clients(1_000_000);
    let _ = r.find_client("fuzz");
    let _ = r.latest("add", "00");
    let text = serde_json::to_vec_pretty(&r).expect("a registry encodes");
    assert!(Registry::parse(&text).ok() == Some(r));
});
