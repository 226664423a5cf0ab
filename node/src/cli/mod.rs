//! The command line: `rampart <command>`, parsed with clap.

mod admin;
mod analyze;
mod freshness;
mod inspect;
mod keygen;
mod load;
mod objects;
mod status;
mod submit;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use rampart::node::config::{self, Overrides};

/// Rampart: a Byzantine-fault-tolerant object store that reconfigures itself.
#[derive(Parser)]
#[command(name = "rampart", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a node or client keypair (secret file mode 0600, public key beside it).
    Keygen {
        /// Where to write the secret key; the public key goes to <out>.pub.
        #[arg(long)]
        out: PathBuf,
    },
    /// The authority's tools: keys, certificates, the registry, genesis.
    Admin {
        /// The admin's directory (authority key and registry).
        #[arg(long, env = "RAMPART_ADMIN_DIR", default_value = "rampart-admin")]
        admin_dir: PathBuf,
        #[command(subcommand)]
        cmd: admin::AdminCmd,
    },
    /// Run or configure a node.
    Node {
        #[command(subcommand)]
        cmd: NodeCmd,
    },
    /// Show what a node sees: its id, epoch, members and its connections to them.
    Status {
        /// The node's multiaddr, e.g. /ip4/127.0.0.1/tcp/7700.
        #[arg(long)]
        peer: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Print Prometheus text (epoch, members, store, state transfer) instead of a table.
        #[arg(long, conflicts_with = "json")]
        metrics: bool,
        /// Give up after this long.
        #[arg(long, default_value = "10s")]
        timeout: humantime::Duration,
    },
    /// What a node's dashboard shows, in the terminal: members and probe health, the ring
    /// share, transfer progress, latencies, epoch history, evictions and revocations. From
    /// another host, pass a credential granting `analyze`. With --token, print a token for
    /// that node's HTTP analyser instead.
    Analyze {
        /// The node's multiaddr, e.g. /ip4/127.0.0.1/tcp/7700.
        #[arg(long)]
        peer: String,
        /// A client credential granting `analyze` (from `rampart admin add-client`).
        #[arg(long)]
        credential: Option<PathBuf>,
        /// Print a token for the node's HTTP analyser (needs --credential) and exit.
        #[arg(long, requires = "credential")]
        token: bool,
        /// How long the token is valid (at most 1 hour).
        #[arg(long, default_value = "1h")]
        valid: String,
        /// Print JSON (the HTTP /status) instead of text.
        #[arg(long)]
        json: bool,
        /// Print again every so often, e.g. 2s, until interrupted.
        #[arg(long)]
        watch: Option<humantime::Duration>,
        /// Give up on one request after this long.
        #[arg(long, default_value = "10s")]
        timeout: humantime::Duration,
    },
    /// Order null operations through the MS with concurrent clients; report ops/s and latency.
    Load {
        /// Any node of the system (its configuration names the MS replicas).
        #[arg(long)]
        peer: String,
        /// Concurrent clients, each with one request in flight.
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// Requests in all, shared among the clients.
        #[arg(long, default_value_t = 1000)]
        requests: usize,
        /// Bytes per operation.
        #[arg(long, default_value_t = 16)]
        size: usize,
        /// Give up after this long.
        #[arg(long, default_value = "300s")]
        timeout: humantime::Duration,
    },
    /// Print what a certificate, credential or genesis bundle file holds (never secrets).
    /// Get the MS to certify the current epoch for a fresh nonce (through any node).
    Freshness {
        /// Any node of the system (a multiaddr).
        #[arg(long)]
        peer: String,
        /// The nonce, 64 hex digits (default: random).
        #[arg(long)]
        nonce: Option<String>,
        /// The MS public key to check the certificate with: hex, a .pub file, or a bundle.
        #[arg(long)]
        ms_key: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Give up after this long.
        #[arg(long, default_value = "15s")]
        timeout: humantime::Duration,
    },
    Inspect {
        /// The file.
        file: PathBuf,
    },
    /// Start a local demo cluster (authority, 4 nodes, genesis) and show its status.
    Demo(crate::demo::Args),
    #[command(flatten)]
    Objects(objects::ObjectCmd),
}

#[derive(Subcommand)]
enum NodeCmd {
    /// Run a node until interrupted.
    Start {
        /// TOML configuration file (see `rampart node config`).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data directory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Node key file.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Genesis bundle (first start only).
        #[arg(long)]
        genesis: Option<PathBuf>,
        /// Join a running system with this admission (from `rampart admin add-node
        /// --admission`), fetching the current configuration from --bootstrap peers. First
        /// start only.
        #[arg(long)]
        admission: Option<PathBuf>,
        /// Listen multiaddr.
        #[arg(long)]
        listen: Option<String>,
        /// Bootstrap peer multiaddr (repeatable).
        #[arg(long)]
        bootstrap: Vec<String>,
        /// Lie on purpose, for fault campaigns: one or more of equivocate, stale, forge,
        /// silent, invent, rollback, slow (comma-separated). Test (debug) builds only.
        #[arg(long, value_enum, value_delimiter = ',', hide = true)]
        byzantine: Vec<rampart::byzantine::Behaviour>,
    },
    /// Print the configuration file with every default.
    Config,
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Parses the command line and runs it.
pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Node {
            cmd:
                NodeCmd::Start {
                    config: path,
                    data_dir,
                    key,
                    genesis,
                    admission,
                    listen,
                    bootstrap,
                    byzantine,
                },
        } => {
            init_logging("info,libp2p=warn");
            let flags = Overrides {
                data_dir,
                key,
                genesis,
                admission,
                listen,
                bootstrap,
                byzantine,
            };
            rampart::node::start(config::load(path.as_deref(), flags)?)
        }
        Cmd::Node {
            cmd: NodeCmd::Config,
        } => {
            print!("{}", config::DEFAULT_TOML);
            Ok(())
        }
        Cmd::Keygen { out } => keygen::run(&out),
        Cmd::Admin { admin_dir, cmd } => {
            init_logging("warn");
            admin::run(&admin_dir, cmd)
        }
        Cmd::Status {
            peer,
            json,
            metrics,
            timeout,
        } => {
            init_logging("warn,libp2p=error");
            let format = match (json, metrics) {
                (true, _) => status::Format::Json,
                (_, true) => status::Format::Metrics,
                _ => status::Format::Table,
            };
            status::run(&peer, format, timeout.into())
        }
        Cmd::Analyze {
            peer,
            credential,
            token,
            valid,
            json,
            watch,
            timeout,
        } => {
            init_logging("warn,libp2p=error");
            match (token, credential) {
                (true, Some(c)) => analyze::token(&c, &valid, &peer, timeout.into()),
                (_, c) => analyze::run(
                    &peer,
                    c.as_deref(),
                    json,
                    watch.map(Into::into),
                    timeout.into(),
                ),
            }
        }
        Cmd::Inspect { file } => inspect::run(&file),
        Cmd::Freshness {
            peer,
            nonce,
            ms_key,
            json,
            timeout,
        } => {
            init_logging("warn,libp2p=error");
            freshness::run(
                &peer,
                nonce.as_deref(),
                ms_key.as_deref(),
                json,
                timeout.into(),
            )
        }
        Cmd::Load {
            peer,
            clients,
            requests,
            size,
            timeout,
        } => {
            init_logging("warn,libp2p=error");
            load::run(&peer, clients, requests, size, timeout.into())
        }
        Cmd::Demo(args) => {
            init_logging("warn");
            crate::demo::run(args)
        }
        Cmd::Objects(cmd) => {
            init_logging("warn,libp2p=error");
            objects::run(cmd)
        }
    }
}
