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
    let node = config.members[0].id();
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
        node,
        Timestamp(500),
        [0; 16],
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
        node,
        Timestamp(200 + TOKEN_SECS_MAX + crate::constants::ANALYST_CLOCK_SKEW_SECS + 1),
        [0; 16],
    );
    assert!(matches!(
        check(&config, &long, 200),
        Err(Refusal::Denied(_))
    ));
    let no_cap = AnalystToken::sign(
        &analyst,
        credential(&authority, &analyst, "get"),
        node,
        Timestamp(500),
        [0; 16],
    );
    assert!(
        matches!(check(&config, &no_cap, 200), Err(Refusal::Denied(why)) if why.contains("analyze"))
    );
    let stolen = AnalystToken::sign(
        &key(3),
        credential(&authority, &analyst, "analyze"),
        node,
        Timestamp(500),
        [0; 16],
    );
    assert!(matches!(
        check(&config, &stolen, 200),
        Err(Refusal::BadCredential(_))
    ));
    let forged = AnalystToken::sign(
        &analyst,
        credential(&key(4), &analyst, "analyze"),
        node,
        Timestamp(500),
        [0; 16],
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

fn token_at(node: NodeId, not_after: u64) -> AnalystToken {
    token_with(node, not_after, [0; 16])
}

fn token_with(node: NodeId, not_after: u64, nonce: [u8; 16]) -> AnalystToken {
    let (authority, analyst) = (key(1), key(2));
    AnalystToken::sign(
        &analyst,
        credential(&authority, &analyst, "analyze"),
        node,
        Timestamp(not_after),
        nonce,
    )
}

#[test]
fn a_token_for_one_node_is_refused_by_another() {
    let config = config();
    let ring = Ring::of(&config);
    let auth = key(1).public();
    let token = token_at(config.members[1].id(), 500);
    let at = |me: NodeId| {
        token.check(&Gate {
            me,
            config: &config,
            ring: &ring,
            authority: &auth,
            now: Timestamp(200),
        })
    };
    assert_eq!(at(config.members[1].id()), Ok(()));
    assert!(
        matches!(at(config.members[0].id()), Err(Refusal::Denied(why)) if why.contains("for node"))
    );
}

#[test]
fn revoked_tokens_are_kept_until_they_expire_within_a_share_per_credential() {
    use crate::constants::ANALYST_REVOKED_PER_CREDENTIAL;
    let node = config().members[0].id();
    let mut book = revoked::Revoked::default();
    let first = token_at(node, 1_000);
    assert!(!book.contains(&first.id()));
    book.revoke(&first, Timestamp(100)).unwrap();
    assert!(book.contains(&first.id()));
    assert!(
        !book.contains(&token_at(node, 1_001).id()),
        "only that token"
    );
    assert!(
        !book.contains(&token_with(node, 1_000, [1; 16]).id()),
        "not one signed in the same second"
    );
    book.revoke(&first, Timestamp(100)).unwrap();
    assert_eq!(book.len(), 1, "revoking twice keeps one entry");
    for i in 1..ANALYST_REVOKED_PER_CREDENTIAL as u64 {
        book.revoke(&token_at(node, 1_000 + i), Timestamp(100))
            .unwrap();
    }
    let over = token_at(node, 5_000);
    let refused = book.revoke(&over, Timestamp(100)).unwrap_err();
    assert!(refused.contains("already has"), "{refused}");
    assert!(!book.contains(&over.id()), "nothing changed");
    // Once the first ones expire, their room is free again.
    book.revoke(&over, Timestamp(1_010)).unwrap();
    assert!(!book.contains(&first.id()));
    assert!(book.contains(&over.id()));
}
