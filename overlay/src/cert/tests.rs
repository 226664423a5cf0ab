use super::*;
use crate::id::NodeId;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn key(seed: u64) -> SecretKey {
    SecretKey::generate(&mut ChaCha20Rng::seed_from_u64(seed))
}

fn add_cert(authority: &SecretKey, from: u64, to: u64) -> Certificate {
    let body = CertBody::Add {
        node: key(9).public(),
        addrs: vec!["/ip4/127.0.0.1/tcp/1".into()],
    };
    Certificate::issue(
        authority,
        CertContent {
            body,
            issued_at: Timestamp(from),
            not_before: Timestamp(from),
            not_after: Timestamp(to),
        },
    )
}

#[test]
fn a_valid_certificate_verifies_inside_its_window() {
    let a = key(1);
    let cert = add_cert(&a, 100, 200);
    assert!(matches!(
        cert.verify(&a.public(), Timestamp(150)),
        Ok(CertBody::Add { .. })
    ));
    assert!(cert.verify(&a.public(), Timestamp(100)).is_ok());
    assert!(cert.verify(&a.public(), Timestamp(200)).is_ok());
}

#[test]
fn each_failure_has_its_own_error() {
    let a = key(1);
    let cert = add_cert(&a, 100, 200);
    assert!(matches!(
        cert.verify(&a.public(), Timestamp(201)),
        Err(CertError::Expired { .. })
    ));
    assert!(matches!(
        cert.verify(&a.public(), Timestamp(99)),
        Err(CertError::NotYetValid { .. })
    ));
    assert!(matches!(
        cert.verify(&key(2).public(), Timestamp(150)),
        Err(CertError::WrongAuthority { .. })
    ));
    let mut tampered = cert.clone();
    tampered.content.not_after = Timestamp(10_000);
    assert_eq!(
        tampered.verify(&a.public(), Timestamp(150)),
        Err(CertError::BadSignature)
    );
    let empty = add_cert(&a, 300, 200);
    assert!(matches!(
        empty.verify(&a.public(), Timestamp(250)),
        Err(CertError::Malformed(_))
    ));
}

#[test]
fn a_body_over_its_bounds_is_malformed_even_when_signed() {
    let a = key(1);
    let body = CertBody::Add {
        node: key(9).public(),
        addrs: vec![],
    };
    let content = CertContent {
        body,
        issued_at: Timestamp(0),
        not_before: Timestamp(0),
        not_after: Timestamp(10),
    };
    let cert = Certificate::issue(&a, content);
    assert!(matches!(
        cert.verify(&a.public(), Timestamp(5)),
        Err(CertError::Malformed(_))
    ));
}

#[test]
fn encoding_round_trips_and_truncation_is_an_error() {
    let a = key(1);
    for cert in [
        add_cert(&a, 1, 2),
        Certificate::issue(
            &a,
            CertContent {
                body: CertBody::Remove {
                    node: NodeId::of(&key(3).public()),
                },
                issued_at: Timestamp(1),
                not_before: Timestamp(1),
                not_after: Timestamp(2),
            },
        ),
    ] {
        let bytes = cert.to_bytes();
        assert_eq!(Certificate::from_bytes(&bytes), Ok(cert.clone()));
        for cut in 0..bytes.len() {
            assert!(
                Certificate::from_bytes(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
    }
}

#[test]
fn capabilities_parse_and_print() {
    let caps = Capabilities::parse("put, get").unwrap();
    assert!(caps.allows(Capability::Put) && caps.allows(Capability::Get));
    assert!(!caps.allows(Capability::Analyze));
    assert_eq!(caps.to_string(), "put,get");
    assert!(Capabilities::parse("put,write").is_err());
    assert!(Capabilities::parse("").is_err());
}
