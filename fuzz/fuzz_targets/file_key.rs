//! Key files: secret keys (`bootstrap::keyfile::parse`: magic line, then 64 hex digits) and
//! public keys (`bootstrap::keyfile::parse_public`: 64 hex digits).
#![no_main]

use bootstrap::keyfile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(k) = keyfile::parse(data) {
        let text = format!("rampart-secret-key/1\n{}\n", hex_of(&k.seed()));
        let back = keyfile::parse(text.as_bytes()).expect("a written key file parses");
        assert!(back.seed() == k.seed());
    }
    if let Ok(p) = keyfile::parse_public(data) {
        let back = keyfile::parse_public(hex_of(p.as_bytes()).as_bytes())
            .expect("a written public key parses");
        assert!(back == p);
    }
});

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
