//! Genesis: from the admission certificates of the first nodes, the epoch-0 configuration,
//! its MS group, the MS key dealt to that group, and epoch 0's certificate.
//!
//! This is the only time anyone holds more than one MS share: the admin deals the key, signs
//! epoch 0 with f_ms+1 of the shares, writes one bundle per node and keeps nothing. From then
//! on the key only moves by re-sharing between MS groups (DESIGN.md §4).

use std::collections::BTreeMap;
use std::path::PathBuf;

use overlay::cert::{CertBody, Certificate};
use overlay::config::{Configuration, Member, choose_ms_group};
use overlay::constants::VNODES_DEFAULT;
use overlay::crypto::PublicKey;
use overlay::encoding::domain_bytes;
use overlay::epoch::{EpochCert, EpochStatement};
use overlay::id::{Epoch, Hash, NodeId};
use overlay::threshold::{self, KeyPackage};
use overlay::time::Timestamp;

use crate::bundle::Bundle;

/// The shape of the new system.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Faults tolerated per replica group.
    pub f: u32,
    /// Faults tolerated in the MS group.
    pub f_ms: u32,
    /// Ring positions per member.
    pub vnodes: u32,
}

impl Default for Params {
    /// f = f_ms = 1: the smallest system that tolerates a fault, 4 nodes.
    fn default() -> Params {
        Params {
            f: 1,
            f_ms: 1,
            vnodes: VNODES_DEFAULT,
        }
    }
}

/// Why genesis could not be made.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// A certificate is not an `Add`.
    #[error("{}: a {kind} certificate; genesis takes node admission (add) certificates", path.display())]
    NotAdd {
        /// The file.
        path: PathBuf,
        /// Its kind.
        kind: &'static str,
    },
    /// Two certificates admit the same node.
    #[error("{} and {} admit the same node {node:?}", first.display(), second.display())]
    Duplicate {
        /// The first file.
        first: PathBuf,
        /// The second file.
        second: PathBuf,
        /// The node.
        node: NodeId,
    },
    /// Too few nodes for the fault thresholds asked for.
    #[error("{members} nodes cannot tolerate {what}={f}: that needs {need} nodes")]
    TooFew {
        /// Which threshold.
        what: &'static str,
        /// Its value.
        f: u32,
        /// Nodes given.
        members: usize,
        /// Nodes needed.
        need: usize,
    },
    /// f_ms = 0 asked for.
    #[error(
        "f_ms must be at least 1: the MS key is a FROST threshold key (2 or more signers), so a system starts with at least 4 nodes"
    )]
    NoMsFaultTolerance,
    /// The threshold library failed.
    #[error(transparent)]
    Threshold(#[from] threshold::ThresholdError),
    /// The configuration breaks a rule.
    #[error("{0}")]
    Invalid(String),
}

/// A new system: its configuration, certificate, MS key and one bundle per node.
pub struct Genesis {
    /// Epoch 0.
    pub config: Configuration,
    /// Its certificate.
    pub cert: EpochCert,
    /// The MS public key (never changes).
    pub ms_key: PublicKey,
    /// One bundle per member, by node id.
    pub bundles: BTreeMap<NodeId, Bundle>,
}

/// Builds genesis at time `now` from already verified `Add` certificates (with the files they
/// came from). `now` starts the MS clock.
pub fn create<R: rand::CryptoRng + rand::RngCore>(
    authority: PublicKey,
    adds: &[(PathBuf, Certificate)],
    params: Params,
    now: Timestamp,
    rng: &mut R,
) -> Result<Genesis, GenesisError> {
    let members = members_of(adds)?;
    check_thresholds(&params, members.len())?;
    let ids: Vec<NodeId> = members.iter().map(Member::id).collect();
    let mut seed_input = authority.as_bytes().to_vec();
    ids.iter()
        .for_each(|id| seed_input.extend_from_slice(&id.0.0));
    let seed = Hash::of(&[b"rampart/v1/genesis\0", &seed_input]);
    let ms_group = choose_ms_group(&ids, params.f_ms, &seed);
    let config = Configuration {
        epoch: Epoch(0),
        members,
        ms_group: ms_group.clone(),
        f: params.f,
        f_ms: params.f_ms,
        vnodes: params.vnodes,
        revoked: BTreeMap::new(),
    };
    config
        .validate()
        .map_err(|e| GenesisError::Invalid(e.to_string()))?;
    let dealt = threshold::deal(&ms_group, params.f_ms, rng)?;
    let ms_key = threshold::group_key(&dealt.public)?;
    let statement = EpochStatement {
        epoch: Epoch(0),
        config_hash: config.hash(),
        delta_hash: Hash::default(),
    };
    let signers: Vec<&KeyPackage> = dealt
        .shares
        .values()
        .take(params.f_ms as usize + 1)
        .collect();
    let signature =
        threshold::sign_locally(&signers, &dealt.public, &domain_bytes(&statement), rng)?;
    let cert = EpochCert {
        statement,
        signature,
    };
    cert.verify(&ms_key)
        .map_err(|e| GenesisError::Invalid(e.to_string()))?;
    let ms_public = dealt
        .public
        .serialize()
        .map_err(threshold::ThresholdError::from)?;
    let mut bundles = BTreeMap::new();
    for id in &ids {
        let share = match dealt.shares.get(id) {
            Some(k) => Some(k.serialize().map_err(threshold::ThresholdError::from)?),
            None => None,
        };
        let b = Bundle {
            node: *id,
            authority,
            ms_key,
            ms_public: ms_public.clone(),
            config: config.clone(),
            cert,
            share,
            time: now,
        };
        bundles.insert(*id, b);
    }
    Ok(Genesis {
        config,
        cert,
        ms_key,
        bundles,
    })
}

fn members_of(adds: &[(PathBuf, Certificate)]) -> Result<Vec<Member>, GenesisError> {
    let mut by_id: BTreeMap<NodeId, (PathBuf, Member)> = BTreeMap::new();
    for (path, cert) in adds {
        let CertBody::Add { node, addrs } = &cert.content.body else {
            return Err(GenesisError::NotAdd {
                path: path.clone(),
                kind: cert.content.body.kind(),
            });
        };
        let m = Member {
            key: *node,
            addrs: addrs.clone(),
        };
        if let Some((first, _)) = by_id.get(&m.id()) {
            return Err(GenesisError::Duplicate {
                first: first.clone(),
                second: path.clone(),
                node: m.id(),
            });
        }
        by_id.insert(m.id(), (path.clone(), m));
    }
    Ok(by_id.into_values().map(|(_, m)| m).collect())
}

fn check_thresholds(p: &Params, members: usize) -> Result<(), GenesisError> {
    if p.f_ms == 0 {
        // FROST thresholds start at 2 signers, and an MS that one node controls could certify
        // anything.
        return Err(GenesisError::NoMsFaultTolerance);
    }
    for (what, f) in [("f", p.f), ("f_ms", p.f_ms)] {
        let need = 3 * f as usize + 1;
        if members < need {
            return Err(GenesisError::TooFew {
                what,
                f,
                members,
                need,
            });
        }
    }
    Ok(())
}
