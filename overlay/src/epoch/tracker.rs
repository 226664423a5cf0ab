//! The node's current epoch: which configuration it holds, and whether to adopt one a peer
//! offers. Pure: the caller persists what it adopts and tells its subscribers.

use super::{BadEpochCert, EpochCert};
use crate::config::Configuration;
use crate::crypto::PublicKey;
use crate::id::{Epoch, Hash};

/// What became of an offered configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// It is newer and valid; it is now current.
    Adopted {
        /// The epoch left behind.
        from: Epoch,
        /// The epoch now held.
        to: Epoch,
    },
    /// It is the configuration already held.
    Same,
    /// It is older than the one held; the peer is behind.
    Older {
        /// The peer's epoch.
        theirs: Epoch,
        /// Ours.
        ours: Epoch,
    },
}

/// Why an offered configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfferError {
    /// The certificate is not the MS's.
    #[error(transparent)]
    BadCert(#[from] BadEpochCert),
    /// The configuration is not the one the certificate signs.
    #[error("configuration hashes to {got:?} but its certificate signs {signed:?}")]
    HashMismatch {
        /// What the certificate signs.
        signed: Hash,
        /// What the configuration hashes to.
        got: Hash,
    },
    /// The configuration's epoch is not the certificate's.
    #[error("configuration is epoch {config} but its certificate is for epoch {cert}")]
    EpochMismatch {
        /// The configuration's epoch.
        config: Epoch,
        /// The certificate's epoch.
        cert: Epoch,
    },
    /// Two different certified configurations for one epoch: the MS key is compromised.
    #[error("a second certified configuration for epoch {0}: the MS threshold was exceeded")]
    Conflict(Epoch),
    /// The configuration breaks a structural rule.
    #[error("{0}")]
    Invalid(String),
}

/// The current configuration and its certificate.
#[derive(Debug, Clone)]
pub struct EpochTracker {
    ms_key: PublicKey,
    config: Configuration,
    cert: EpochCert,
}

impl EpochTracker {
    /// Starts from a verified configuration (genesis or one restored from disk).
    pub fn new(
        ms_key: PublicKey,
        config: Configuration,
        cert: EpochCert,
    ) -> Result<EpochTracker, OfferError> {
        check(&ms_key, &config, &cert)?;
        Ok(EpochTracker {
            ms_key,
            config,
            cert,
        })
    }

    /// The configuration held.
    pub fn config(&self) -> &Configuration {
        &self.config
    }

    /// Its certificate.
    pub fn cert(&self) -> &EpochCert {
        &self.cert
    }

    /// The MS public key everything is checked against.
    pub fn ms_key(&self) -> &PublicKey {
        &self.ms_key
    }

    /// Considers a configuration a peer sent; adopts it if it is newer and certified. A
    /// refused offer leaves the tracker unchanged.
    pub fn offer(&mut self, config: Configuration, cert: EpochCert) -> Result<Offer, OfferError> {
        let ours = self.config.epoch;
        let theirs = cert.statement.epoch;
        if theirs < ours {
            return Ok(Offer::Older { theirs, ours });
        }
        check(&self.ms_key, &config, &cert)?;
        if theirs == ours {
            return if cert.statement.config_hash == self.cert.statement.config_hash {
                Ok(Offer::Same)
            } else {
                Err(OfferError::Conflict(ours))
            };
        }
        self.config = config;
        self.cert = cert;
        Ok(Offer::Adopted {
            from: ours,
            to: theirs,
        })
    }
}

fn check(ms_key: &PublicKey, config: &Configuration, cert: &EpochCert) -> Result<(), OfferError> {
    cert.verify(ms_key)?;
    if config.epoch != cert.statement.epoch {
        return Err(OfferError::EpochMismatch {
            config: config.epoch,
            cert: cert.statement.epoch,
        });
    }
    let got = config.hash();
    if got != cert.statement.config_hash {
        return Err(OfferError::HashMismatch {
            signed: cert.statement.config_hash,
            got,
        });
    }
    config
        .validate()
        .map_err(|e| OfferError::Invalid(e.to_string()))
}
