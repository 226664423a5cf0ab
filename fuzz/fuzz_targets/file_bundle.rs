//! Genesis bundles (`bootstrap::bundle::parse`: magic line, then the bundle, checked against
//! its MS key), with the FROST packages they carry.
#![no_main]

use bootstrap::bundle;
use libfuzzer_sys::fuzz_target;
use overlay::encoding::encode;
use overlay::epoch::EpochTracker;
use overlay::threshold::{KeyPackage, PublicKeyPackage};
use rampart_fuzz::file_bytes;

fuzz_target!(|data: &[u8]| {
    let Ok(b) = bundle::parse(data) else {
        return;
    };
    let again = file_bytes("rampart-genesis-bundle/1", &encode(&b));
    assert!(again.len() <= data.len());
    assert!(bundle::parse(&again).ok() == Some(b.clone()));
    assert!(EpochTracker::new(b.ms_key, b.config.clone(), b.cert).is_ok());
    let _ = PublicKeyPackage::deserialize(&b.ms_public);
    if let Some(s) = &b.share {
        let _ = KeyPackage::deserialize(s);
    }
});
