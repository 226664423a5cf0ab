//! The messages an MS key holder is asked to sign, as it decides whether to approve them:
//! a freshness statement (`FreshnessStatement::from_signed_bytes`) or an epoch statement
//! (`decode_domain::<EpochStatement>`, bound 256).
#![no_main]

use libfuzzer_sys::fuzz_target;
use overlay::encoding::{decode_domain, domain_bytes};
use overlay::epoch::EpochStatement;
use overlay::freshness::FreshnessStatement;

fuzz_target!(|data: &[u8]| {
    if let Some(s) = FreshnessStatement::from_signed_bytes(data) {
        assert!(FreshnessStatement::from_signed_bytes(&s.signed_bytes()) == Some(s));
        assert!(s.signed_bytes().len() <= data.len());
    }
    if let Some(s) = decode_domain::<EpochStatement>(data, 256) {
        let b = domain_bytes(&s);
        assert!(decode_domain::<EpochStatement>(&b, 256) == Some(s));
        assert!(b.len() <= data.len());
    }
});
