//! FROST key material from files and messages: the MS public key package (genesis bundles,
//! MS states, `Adopt`), a holder's key package (its share file, its bundle), and the
//! signing-round pieces (commitments, signing packages, signature shares). Each must
//! deserialise without panicking and serialise back to what deserialises to the same.
#![no_main]

use frost_ed25519 as frost;
use libfuzzer_sys::fuzz_target;
use overlay::threshold::{self, KeyPackage, PublicKeyPackage};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = PublicKeyPackage::deserialize(data) {
        let _ = threshold::group_key(&p);
        if let Ok(b) = p.serialize() {
            assert!(PublicKeyPackage::deserialize(&b).ok() == Some(p));
        }
    }
    if let Ok(k) = KeyPackage::deserialize(data)
        && let Ok(b) = k.serialize()
    {
        assert!(KeyPackage::deserialize(&b).ok() == Some(k));
    }
    if let Ok(c) = frost::round1::SigningCommitments::deserialize(data)
        && let Ok(b) = c.serialize()
    {
        assert!(frost::round1::SigningCommitments::deserialize(&b).ok() == Some(c));
    }
    if let Ok(p) = frost::SigningPackage::deserialize(data) {
        let _ = p.message();
        if let Ok(b) = p.serialize() {
            assert!(frost::SigningPackage::deserialize(&b).ok() == Some(p));
        }
    }
    if let Ok(s) = frost::round2::SignatureShare::deserialize(data) {
        let b = s.serialize();
        assert!(frost::round2::SignatureShare::deserialize(&b).ok() == Some(s));
    }
});
