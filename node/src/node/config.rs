//! The node's configuration: a TOML file whose every field has a documented default, and
//! command-line flags that override it. Unknown or wrongly typed fields are errors that name
//! the file, so a typo never silently falls back to a default.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

/// The file as written by an operator; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// Where the node keeps its state. Default: `./rampart-node`.
    pub data_dir: Option<PathBuf>,
    /// The node's secret key file. Default: `<data_dir>/node.key`.
    pub key: Option<PathBuf>,
    /// The genesis bundle, needed on first start only. Default: none.
    pub genesis: Option<PathBuf>,
    /// An admission to a running system (instead of a genesis bundle), first start only.
    pub admission: Option<PathBuf>,
    /// The multiaddr to listen on. Default: `/ip4/0.0.0.0/tcp/7700`.
    pub listen: Option<String>,
    /// Peers to dial when no member is reachable. Default: none.
    pub bootstrap: Option<Vec<String>>,
    /// Timing of the network task.
    pub network: Option<Network>,
    /// Durability of the database.
    pub storage: Option<Storage>,
    /// The PBFT replica's bounds (must be equal at every MS replica).
    pub pbft: Option<Pbft>,
    /// The membership service.
    pub ms: Option<Ms>,
    /// State transfer between replicas.
    pub transfer: Option<Transfer>,
    /// The HTTP analyser.
    pub http: Option<Http>,
}

/// The `[http]` table.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Http {
    /// Address of the analyser (`/status`, `/metrics`); "" turns it off. Default
    /// `127.0.0.1:0` (loopback, a free port, shown by `rampart status`).
    pub listen: Option<String>,
    /// Answer loopback connections without a token. Default true; set it false when a
    /// reverse proxy or a port forward on this host leads to the analyser, since every
    /// request then comes from loopback.
    pub trust_loopback: Option<bool>,
    /// Names the `Host` header may carry beside localhost, 127.0.0.1 and ::1 (and the listen
    /// address's own IP). Default none.
    pub hosts: Option<Vec<String>>,
}

/// The `[transfer]` table.
#[derive(Debug, Default, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// Most bytes a second stored by incoming transfers; 0 for no limit. Default 64 MiB/s.
    pub rate_mib_s: Option<u64>,
    /// Ranges fetched at once. Default 4.
    pub ranges_at_once: Option<usize>,
}

/// The `[ms]` table.
#[derive(Debug, Default, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct Ms {
    /// Close an epoch this long after it began, when changes are queued. Default 60000.
    pub epoch_interval_ms: Option<u64>,
    /// An MS replica challenges every member this often. Default 2000.
    pub probe_interval_ms: Option<u64>,
    /// Missed challenges in a row before a member is reported. Default 5.
    pub probe_misses: Option<u32>,
}

/// The `[storage]` table.
#[derive(Debug, Default, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    /// fsync the rocksdb WAL on every write. Default true.
    pub sync: Option<bool>,
}

/// The `[pbft]` table.
#[derive(Debug, Default, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct Pbft {
    /// Most requests per batch. Default 64.
    pub batch_max: Option<usize>,
    /// Most batches in flight. Default 4.
    pub pipeline_max: Option<u64>,
    /// A checkpoint every this many batches. Default 128.
    pub checkpoint_interval: Option<u64>,
    /// Batches accepted above the stable checkpoint. Default 512.
    pub log_window: Option<u64>,
    /// Base view-change timeout. Default 2000.
    pub view_change_timeout_ms: Option<u64>,
    /// Status (retransmission) period. Default 500.
    pub status_interval_ms: Option<u64>,
    /// What the replicas order: the membership service (default), or nothing but a
    /// hash chain (`null`, for measuring the ordering itself with `rampart load`).
    pub application: Option<AppKind>,
}

/// The application a node's PBFT replica runs.
#[derive(Debug, Default, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AppKind {
    /// The membership service: only members and the authority may submit.
    #[default]
    Membership,
    /// Orders anything from anyone and keeps a hash chain of it.
    Null,
}

/// The `[network]` table.
#[derive(Debug, Default, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Redial unreachable members every this many ms. Default 2000.
    pub dial_interval_ms: Option<u64>,
    /// Ask members for a newer configuration every this many ms. Default 5000.
    pub exchange_interval_ms: Option<u64>,
    /// A request waits this long for its response. Default 10000.
    pub request_timeout_ms: Option<u64>,
    /// Idle connections close after this many seconds. Default 3600.
    pub idle_timeout_secs: Option<u64>,
}

/// The file's defaults, printed by `rampart node config` and used when a field is absent.
pub const DEFAULT_TOML: &str = r#"# rampart node configuration; every field is optional.
data_dir = "./rampart-node"        # state: key share, epochs, (later) objects
# key = "<data_dir>/node.key"      # from `rampart keygen`
# genesis = "node.bundle"          # from `rampart admin genesis`; first start only
# admission = "node.admission"     # or, to join a running system: `admin add-node --admission`
listen = "/ip4/0.0.0.0/tcp/7700"
bootstrap = []                     # multiaddrs dialled when no member is reachable

[network]
dial_interval_ms = 2000
exchange_interval_ms = 5000
request_timeout_ms = 10000
idle_timeout_secs = 3600

[storage]
sync = true                        # fsync the rocksdb WAL on every write

[pbft]                             # must be equal at every MS replica
batch_max = 64
pipeline_max = 4
checkpoint_interval = 128
log_window = 512
view_change_timeout_ms = 2000
status_interval_ms = 500
application = "membership"         # or "null": order anything, for `rampart load`

[ms]
epoch_interval_ms = 60000          # close an epoch this long after it began, if changes wait
probe_interval_ms = 2000           # an MS replica challenges every member this often
probe_misses = 5                   # missed challenges in a row before a member is reported

[http]
listen = "127.0.0.1:0"             # the analyser: /status, /metrics; port 0 picks one; "" for none
trust_loopback = true              # no token from this host; false behind a proxy or port forward
hosts = []                         # Host names it answers to beside loopback and the listen IP

[transfer]
rate_mib_s = 64                    # most MiB/s stored by incoming state transfer; 0: no limit
ranges_at_once = 4                 # ranges fetched at once
"#;

/// The default `[ms] epoch_interval_ms`.
pub const DEFAULT_EPOCH_INTERVAL_MS: u64 = 60_000;

/// Settings after defaults and flags.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Data directory.
    pub data_dir: PathBuf,
    /// Key file.
    pub key: PathBuf,
    /// Genesis bundle, if given.
    pub genesis: Option<PathBuf>,
    /// Admission to a running system, if given.
    pub admission: Option<PathBuf>,
    /// Listen address.
    pub listen: String,
    /// Bootstrap peers.
    pub bootstrap: Vec<String>,
    /// Redial period.
    pub dial_interval: Duration,
    /// Exchange period.
    pub exchange_interval: Duration,
    /// Request timeout.
    pub request_timeout: Duration,
    /// Idle connection timeout.
    pub idle_timeout: Duration,
    /// fsync the WAL on every write.
    pub sync: bool,
    /// PBFT bounds as given (defaults applied when the instance is built).
    pub pbft: Pbft,
    /// How long an epoch lasts at least before the MS closes it (when changes are queued).
    pub epoch_interval: Duration,
    /// Time between an MS replica's probe challenges.
    pub probe_interval: Duration,
    /// Missed challenges in a row before a member is reported.
    pub probe_misses: u32,
    /// Most bytes a second incoming transfers store (none: no limit).
    pub transfer_rate: Option<u64>,
    /// Ranges fetched at once.
    pub transfer_ranges: usize,
    /// Where the HTTP analyser listens (none: off).
    pub http_listen: Option<String>,
    /// Whom the HTTP analyser answers.
    pub http_policy: overlay::analyst::http::Policy,
    /// Lie on purpose (test builds only); empty: an honest node.
    pub byzantine: Vec<crate::byzantine::Behaviour>,
}

/// Flags that override the file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--key`.
    pub key: Option<PathBuf>,
    /// `--genesis`.
    pub genesis: Option<PathBuf>,
    /// `--admission`.
    pub admission: Option<PathBuf>,
    /// `--listen`.
    pub listen: Option<String>,
    /// `--bootstrap` (repeatable; replaces the file's list when given).
    pub bootstrap: Vec<String>,
    /// `--byzantine`.
    pub byzantine: Vec<crate::byzantine::Behaviour>,
}

/// Reads `path` (if given), applies defaults and `flags`.
pub fn load(path: Option<&Path>, flags: Overrides) -> anyhow::Result<Settings> {
    let file = match path {
        Some(p) => parse(p)?,
        None => File::default(),
    };
    let base = path
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let rel = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
    let data_dir = flags
        .data_dir
        .or_else(|| file.data_dir.map(rel))
        .unwrap_or_else(|| PathBuf::from("./rampart-node"));
    let key = flags
        .key
        .or_else(|| file.key.map(rel))
        .unwrap_or_else(|| data_dir.join("node.key"));
    if !flags.byzantine.is_empty() && !crate::byzantine::allowed() {
        anyhow::bail!("--byzantine is for test builds only; this is a release build");
    }
    let net = file.network.unwrap_or_default();
    let ms = |v: Option<u64>, d: u64| Duration::from_millis(v.unwrap_or(d).max(1));
    Ok(Settings {
        byzantine: flags.byzantine,
        genesis: flags.genesis.or_else(|| file.genesis.map(rel)),
        admission: flags.admission.or_else(|| file.admission.map(rel)),
        listen: flags
            .listen
            .or(file.listen)
            .unwrap_or_else(|| "/ip4/0.0.0.0/tcp/7700".into()),
        bootstrap: if flags.bootstrap.is_empty() {
            file.bootstrap.unwrap_or_default()
        } else {
            flags.bootstrap
        },
        dial_interval: ms(net.dial_interval_ms, 2000),
        exchange_interval: ms(net.exchange_interval_ms, 5000),
        request_timeout: ms(net.request_timeout_ms, 10_000),
        idle_timeout: Duration::from_secs(net.idle_timeout_secs.unwrap_or(3600).max(1)),
        sync: file.storage.and_then(|s| s.sync).unwrap_or(true),
        pbft: file.pbft.unwrap_or_default(),
        epoch_interval: ms(
            file.ms.and_then(|m| m.epoch_interval_ms),
            DEFAULT_EPOCH_INTERVAL_MS,
        ),
        probe_interval: ms(file.ms.and_then(|m| m.probe_interval_ms), 2000),
        probe_misses: file.ms.and_then(|m| m.probe_misses).unwrap_or(5).max(1),
        transfer_rate: match file.transfer.and_then(|t| t.rate_mib_s).unwrap_or(64) {
            0 => None,
            r => Some(r.saturating_mul(1024 * 1024)),
        },
        transfer_ranges: file
            .transfer
            .and_then(|t| t.ranges_at_once)
            .unwrap_or(4)
            .clamp(1, 64),
        http_listen: match file.http.clone().and_then(|h| h.listen) {
            Some(l) if l.is_empty() => None,
            Some(l) => Some(l),
            None => Some("127.0.0.1:0".into()),
        },
        http_policy: overlay::analyst::http::Policy {
            trust_loopback: file
                .http
                .as_ref()
                .and_then(|h| h.trust_loopback)
                .unwrap_or(true),
            hosts: file.http.and_then(|h| h.hosts).unwrap_or_default(),
        },
        data_dir,
        key,
    })
}

fn parse(path: &Path) -> anyhow::Result<File> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("config file {}", path.display()))?;
    if meta.len() > 1024 * 1024 {
        bail!("config file {}: larger than 1 MiB", path.display());
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("config file {}", path.display()))?;
    toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("config file {}: {}", path.display(), e.to_string().trim()))
}

impl Pbft {
    /// Applies these bounds (or their defaults) to an instance configuration.
    pub fn apply(&self, cfg: &mut overlay::pbft::Config) -> anyhow::Result<()> {
        cfg.batch_max = self.batch_max.unwrap_or(64);
        cfg.pipeline_max = self.pipeline_max.unwrap_or(4);
        cfg.checkpoint_interval = self.checkpoint_interval.unwrap_or(128);
        cfg.log_window = self.log_window.unwrap_or(512);
        cfg.view_change_timeout_ms = self.view_change_timeout_ms.unwrap_or(2000);
        cfg.status_interval_ms = self.status_interval_ms.unwrap_or(500);
        cfg.validate()
            .map_err(|e| anyhow::anyhow!("[pbft] in the node configuration: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("node.toml");
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    #[test]
    fn the_documented_defaults_parse() {
        let (_d, p) = write(DEFAULT_TOML);
        let s = load(Some(&p), Overrides::default()).unwrap();
        assert_eq!(s.listen, "/ip4/0.0.0.0/tcp/7700");
        assert_eq!(s.dial_interval, Duration::from_millis(2000));
    }

    #[test]
    fn an_unknown_field_is_an_error_naming_the_file_and_field() {
        let (_d, p) = write("listen = \"/ip4/127.0.0.1/tcp/1\"\nlisten_port = 5\n");
        let e = load(Some(&p), Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("node.toml") && e.contains("listen_port"), "{e}");
    }

    #[test]
    fn a_wrongly_typed_field_is_an_error() {
        let (_d, p) = write("[network]\ndial_interval_ms = \"fast\"\n");
        let e = load(Some(&p), Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("node.toml") && e.contains("invalid type"), "{e}");
    }

    #[test]
    fn flags_override_the_file() {
        let (_d, p) = write("listen = \"/ip4/127.0.0.1/tcp/1\"\n");
        let flags = Overrides {
            listen: Some("/ip4/127.0.0.1/tcp/2".into()),
            ..Default::default()
        };
        assert_eq!(
            load(Some(&p), flags).unwrap().listen,
            "/ip4/127.0.0.1/tcp/2"
        );
    }
}
