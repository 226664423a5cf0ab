//! What a client needs: its credential, the MS public key it checks configurations with, and
//! bootstrap peers, from flags or a TOML file such as
//!
//! ```toml
//! credential = "client.cred"          # from `rampart admin add-client`
//! ms_key = "rampart-admin/ms.pub"     # hex, a .pub file, or a node's bundle
//! bootstrap = ["/ip4/127.0.0.1/tcp/7700"]
//! timeout = "30s"
//! ```
//!
//! Relative paths in the file are taken from the file's directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use libp2p::Multiaddr;
use overlay::cert::Certificate;
use overlay::crypto::{PublicKey, SecretKey};
use serde::Deserialize;

use super::ClientError;

/// The default time an operation may take.
pub const TIMEOUT_DEFAULT: Duration = Duration::from_secs(30);

/// How to connect, as a client file says it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientFile {
    /// The credential file.
    pub credential: Option<PathBuf>,
    /// The MS public key: hex, a .pub file or a bundle.
    pub ms_key: Option<String>,
    /// Bootstrap peers (multiaddrs).
    #[serde(default)]
    pub bootstrap: Vec<String>,
    /// How long an operation may take, e.g. "30s".
    pub timeout: Option<String>,
}

impl ClientFile {
    /// Reads a client file; relative paths in it become relative to its directory.
    pub fn read(path: &Path) -> Result<ClientFile, ClientError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ClientError::Local(format!("cannot read {}: {e}", path.display())))?;
        let mut f: ClientFile = toml::from_str(&text)
            .map_err(|e| ClientError::Local(format!("{}: {e}", path.display())))?;
        let base = path.parent().unwrap_or(Path::new("."));
        if let Some(c) = &f.credential
            && c.is_relative()
        {
            f.credential = Some(base.join(c));
        }
        if let Some(k) = &f.ms_key
            && (k.ends_with(".pub") || k.ends_with(".bundle"))
            && Path::new(k).is_relative()
        {
            f.ms_key = Some(base.join(k).display().to_string());
        }
        Ok(f)
    }
}

/// Everything [`Client::connect`](super::Client::connect) needs.
pub struct ClientOptions {
    /// The client's secret key (from its credential).
    pub key: SecretKey,
    /// Its certificate.
    pub credential: Certificate,
    /// The MS public key configurations must be certified under.
    pub ms_key: PublicKey,
    /// Peers to learn the configuration from.
    pub bootstrap: Vec<Multiaddr>,
    /// How long one operation may take.
    pub timeout: Duration,
    /// Where the write journal is kept (`None`: in memory only, which protects the writes
    /// of this connection but not those of a process that ended with a write cut short).
    pub journal: Option<PathBuf>,
}

impl ClientOptions {
    /// Options from a credential file, an MS key (hex, .pub file or bundle) and bootstrap
    /// multiaddrs.
    pub fn from_files(
        credential: &Path,
        ms_key: &str,
        bootstrap: &[String],
    ) -> Result<ClientOptions, ClientError> {
        let cred = bootstrap::credential::read(credential).map_err(|e| {
            ClientError::Local(format!(
                "{e} (a credential comes from `rampart admin add-client`)"
            ))
        })?;
        let ms_key = read_ms_key(ms_key)?;
        if bootstrap.is_empty() {
            return Err(ClientError::Local(
                "no bootstrap peer: give --peer <multiaddr> or `bootstrap` in the client file"
                    .into(),
            ));
        }
        let bootstrap = bootstrap
            .iter()
            .map(|b| {
                b.parse::<Multiaddr>().map_err(|e| {
                    ClientError::Local(format!("bootstrap peer {b:?} is not a multiaddr: {e}"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ClientOptions {
            key: cred.key,
            credential: cred.cert,
            ms_key,
            bootstrap,
            timeout: TIMEOUT_DEFAULT,
            journal: Some(super::journal_file::path_for(credential)),
        })
    }
}

impl ClientOptions {
    /// Options from a client file alone (credential, MS key, bootstrap peers, timeout).
    pub fn from_client_file(path: &Path) -> Result<ClientOptions, ClientError> {
        let f = ClientFile::read(path)?;
        let missing = |what: &str| {
            ClientError::Local(format!(
                "{}: no `{what}` in the client file",
                path.display()
            ))
        };
        let credential = f.credential.ok_or_else(|| missing("credential"))?;
        let ms_key = f.ms_key.ok_or_else(|| missing("ms_key"))?;
        let mut opts = ClientOptions::from_files(&credential, &ms_key, &f.bootstrap)?;
        if let Some(t) = f.timeout {
            opts.timeout = humantime::parse_duration(&t).map_err(|e| {
                ClientError::Local(format!("{}: timeout {t:?}: {e}", path.display()))
            })?;
        }
        Ok(opts)
    }
}

/// The MS key from hex, a `.pub` file, or a node's genesis bundle.
pub fn read_ms_key(arg: &str) -> Result<PublicKey, ClientError> {
    if arg.ends_with(".bundle") {
        return bootstrap::bundle::read(Path::new(arg))
            .map(|b| b.ms_key)
            .map_err(|e| ClientError::Local(e.to_string()));
    }
    bootstrap::keyfile::read_public(arg).map_err(|e| {
        ClientError::Local(format!(
            "MS key {arg:?}: {e} (the admin directory's ms.pub after genesis)"
        ))
    })
}
