//! Epoch news on gossip: the certificate of a new epoch and the delta from the previous
//! configuration. A node one epoch behind applies the delta and checks the result against
//! the certificate; any other node asks a peer for the full configuration.

use serde::{Deserialize, Serialize};

use super::EpochCert;
use crate::config::{Configuration, Delta};
use crate::constants::CONFIG_BYTES_MAX;
use crate::crypto::PublicKey;
use crate::encoding::decode;

/// Largest epoch news accepted (a delta for 1% churn of 100,000 members is ~46 KB).
pub const NEWS_BYTES_MAX: usize = 1024 * 1024;

/// A new epoch's certificate and its delta.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochNews {
    /// The certificate.
    pub cert: EpochCert,
    /// The delta from the previous epoch's configuration.
    pub delta: Delta,
}

/// What a node makes of epoch news.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewsOutcome {
    /// The next configuration, rebuilt from ours and checked against the certificate.
    Next(Box<Configuration>),
    /// Not for us: we hold that epoch already, or are further behind (fetch it whole).
    Behind,
    /// Nothing new.
    Old,
}

/// Why epoch news was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NewsError {
    /// It does not decode.
    #[error("malformed epoch news: {0}")]
    Malformed(String),
    /// The certificate does not verify under the MS key.
    #[error("epoch news with a certificate that does not verify")]
    BadCert,
    /// The delta does not lead to the certified configuration.
    #[error("epoch news whose delta does not give the certified configuration")]
    Mismatch,
}

/// Checks `bytes` against our configuration `ours` and the MS key.
pub fn check(
    bytes: &[u8],
    ours: &Configuration,
    ms_key: &PublicKey,
) -> Result<(EpochNews, NewsOutcome), NewsError> {
    let news: EpochNews = decode(bytes, NEWS_BYTES_MAX.min(CONFIG_BYTES_MAX))
        .map_err(|e| NewsError::Malformed(e.to_string()))?;
    news.cert.verify(ms_key).map_err(|_| NewsError::BadCert)?;
    let epoch = news.cert.statement.epoch;
    if epoch <= ours.epoch {
        return Ok((news, NewsOutcome::Old));
    }
    if epoch != ours.epoch.next() {
        return Ok((news, NewsOutcome::Behind));
    }
    if news.delta.hash() != news.cert.statement.delta_hash {
        return Err(NewsError::Mismatch);
    }
    let next = news.delta.apply(ours).map_err(|_| NewsError::Mismatch)?;
    if next.hash() != news.cert.statement.config_hash {
        return Err(NewsError::Mismatch);
    }
    Ok((news, NewsOutcome::Next(Box::new(next))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Member, choose_ms_group};
    use crate::crypto::SecretKey;
    use crate::encoding::{domain_bytes, encode};
    use crate::epoch::EpochStatement;
    use crate::id::{Epoch, Hash, NodeId};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn config(n: u64, epoch: u64) -> Configuration {
        let mut members: Vec<Member> = (0..n)
            .map(|i| Member {
                key: SecretKey::generate(&mut ChaCha20Rng::seed_from_u64(i)).public(),
                addrs: vec![],
            })
            .collect();
        members.sort_by_key(Member::id);
        let ids: Vec<NodeId> = members.iter().map(Member::id).collect();
        Configuration {
            epoch: Epoch(epoch),
            ms_group: choose_ms_group(&ids, 1, &Hash::default()),
            members,
            f: 1,
            f_ms: 1,
            vnodes: 4,
            revoked: Default::default(),
        }
    }

    #[test]
    fn a_node_one_epoch_behind_rebuilds_the_next_configuration_from_the_delta() {
        let key = SecretKey::generate(&mut ChaCha20Rng::seed_from_u64(99));
        let (a, b) = (config(5, 1), config(6, 2));
        let delta = Delta::between(&a, &b);
        let statement = EpochStatement {
            epoch: b.epoch,
            config_hash: b.hash(),
            delta_hash: delta.hash(),
        };
        let cert = EpochCert {
            statement,
            signature: key.sign_raw(&domain_bytes(&statement)),
        };
        let news = EpochNews { cert, delta };
        let bytes = encode(&news);
        let (_, out) = check(&bytes, &a, &key.public()).unwrap();
        assert_eq!(out, NewsOutcome::Next(Box::new(b.clone())));
        assert_eq!(
            check(&bytes, &b, &key.public()).unwrap().1,
            NewsOutcome::Old
        );
        assert_eq!(
            check(&bytes, &config(5, 0), &key.public()).unwrap().1,
            NewsOutcome::Behind
        );
        let other = SecretKey::generate(&mut ChaCha20Rng::seed_from_u64(7));
        assert_eq!(check(&bytes, &a, &other.public()), Err(NewsError::BadCert));
        // A delta that does not match the certificate changes nothing.
        let mut wrong = news.clone();
        wrong.delta = Delta::between(&a, &config(7, 2));
        assert_eq!(
            check(&encode(&wrong), &a, &key.public()),
            Err(NewsError::Mismatch)
        );
        assert!(matches!(
            check(&[1, 2, 3], &a, &key.public()),
            Err(NewsError::Malformed(_))
        ));
    }
}
