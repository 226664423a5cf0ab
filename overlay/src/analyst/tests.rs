use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;
use crate::cert::{Capabilities, CertContent};
use crate::config::Configuration;
use crate::id::ClientId;
use crate::ring::Ring;

fn key(seed: u64) -> SecretKey {
    SecretKey::generate(&mut ChaCha20Rng::seed_from_u64(seed))
}

/// Four members; their keys do not matter here.
fn config() -> Configuration {
    crate::config::tests::config(1, &[100, 101, 102, 103], 1)
}

fn credential(authority: &SecretKey, client: &SecretKey, caps: &str) -> Certificate {
    Certificate::issue(
        authority,
        CertContent {
            body: CertBody::Client {
                key: client.public(),
                name: "analyst".into(),
                caps: Capabilities::parse(caps).unwrap(),
            },
            issued_at: Timestamp(100),
            not_before: Timestamp(100),
            not_after: Timestamp(10_000),
        },
    )
}

#[test]
fn a_token_is_accepted_only_signed_fresh_and_for_an_analyst_in_good_standing() {
    let authority = key(1);
    let analyst = key(2);
    let mut config = config();
    let ring = Ring::of(&config);
    let auth = authority.public();
    let check = |config: &Configuration, t: &AnalystToken, now: u64| {
        t.check(&Gate {
            me: config.members[0].id(),
            config,
            ring: &ring,
            authority: &auth,
            now: Timestamp(now),
        })
    };
    let good = AnalystToken::sign(
        &analyst,
        credential(&authority, &analyst, "analyze"),
        Timestamp(500),
    );
    let again = AnalystToken::from_hex(&good.to_hex()).unwrap();
    assert_eq!(check(&config, &again, 200), Ok(()));
    assert!(
        matches!(check(&config, &good, 501), Err(Refusal::Denied(_))),
        "expired"
    );
    let long = AnalystToken::sign(
        &analyst,
        credential(&authority, &analyst, "analyze"),
        Timestamp(200 + TOKEN_SECS_MAX + 1),
    );
    assert!(matches!(
        check(&config, &long, 200),
        Err(Refusal::Denied(_))
    ));
    let no_cap = AnalystToken::sign(
        &analyst,
        credential(&authority, &analyst, "get"),
        Timestamp(500),
    );
    assert!(
        matches!(check(&config, &no_cap, 200), Err(Refusal::Denied(why)) if why.contains("analyze"))
    );
    let stolen = AnalystToken::sign(
        &key(3),
        credential(&authority, &analyst, "analyze"),
        Timestamp(500),
    );
    assert!(matches!(
        check(&config, &stolen, 200),
        Err(Refusal::BadCredential(_))
    ));
    let forged = AnalystToken::sign(
        &analyst,
        credential(&key(4), &analyst, "analyze"),
        Timestamp(500),
    );
    assert!(matches!(
        check(&config, &forged, 200),
        Err(Refusal::BadCredential(_))
    ));
    config
        .revoked
        .insert(ClientId::of(&analyst.public()), Timestamp(20_000));
    assert!(
        matches!(check(&config, &good, 200), Err(Refusal::Denied(why)) if why.contains("revoked"))
    );
    assert!(AnalystToken::from_hex("zz").is_err());
    assert!(AnalystToken::from_hex(&"0".repeat(TOKEN_HEX_MAX + 2)).is_err());
}
