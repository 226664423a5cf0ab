//! `rampart put | get | rm | put-content | get-content`: the client library from the command
//! line, with a progress bar for large values when stderr is a terminal.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use overlay::dbqs::blob::CHUNK_BYTES;
use overlay::id::Hash;
use rampart::client::{Client, ClientFile, ClientOptions};

/// How to reach the system: a client file, or flags (flags win).
#[derive(Args, Clone)]
pub struct Connect {
    /// Client file (TOML: credential, ms_key, bootstrap, timeout).
    #[arg(long, env = "RAMPART_CLIENT")]
    client: Option<PathBuf>,
    /// Credential file from `rampart admin add-client`.
    #[arg(long, env = "RAMPART_CREDENTIAL")]
    credential: Option<PathBuf>,
    /// MS public key: hex, a .pub file (the admin directory's ms.pub) or a node bundle.
    #[arg(long, env = "RAMPART_MS_KEY")]
    ms_key: Option<String>,
    /// A node of the system (multiaddr; repeatable).
    #[arg(long)]
    peer: Vec<String>,
    /// How long one operation may take.
    #[arg(long)]
    timeout: Option<humantime::Duration>,
}

/// The object commands.
#[derive(Subcommand)]
pub enum ObjectCmd {
    /// Store a file (or stdin with `-`) under a key in your namespace; prints the version.
    Put {
        /// The key.
        key: String,
        /// The file, or `-` for stdin.
        file: PathBuf,
        #[command(flatten)]
        connect: Connect,
    },
    /// Read the latest value of a key to stdout or a file.
    Get {
        /// The key.
        key: String,
        /// Write here instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        connect: Connect,
    },
    /// Delete a key (a signed tombstone becomes its latest version).
    Rm {
        /// The key.
        key: String,
        #[command(flatten)]
        connect: Connect,
    },
    /// Store a file as a content object; prints its id.
    PutContent {
        /// The file, or `-` for stdin.
        file: PathBuf,
        #[command(flatten)]
        connect: Connect,
    },
    /// Read a content object by id to stdout or a file.
    GetContent {
        /// The id (64 hex digits) `put-content` printed.
        id: String,
        /// Write here instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        connect: Connect,
    },
}

fn options(c: &Connect) -> anyhow::Result<ClientOptions> {
    let file = match &c.client {
        Some(p) => ClientFile::read(p)?,
        None => ClientFile::default(),
    };
    let Some(credential) = c.credential.clone().or(file.credential) else {
        bail!("no credential: give --credential <file> or --client <client.toml>");
    };
    let Some(ms_key) = c.ms_key.clone().or(file.ms_key) else {
        bail!("no MS key: give --ms-key <hex|ms.pub|bundle> or --client <client.toml>");
    };
    let peers = if c.peer.is_empty() {
        file.bootstrap
    } else {
        c.peer.clone()
    };
    let mut opts = ClientOptions::from_files(&credential, &ms_key, &peers)?;
    if let Some(t) = c.timeout {
        opts.timeout = t.into();
    } else if let Some(t) = file.timeout {
        opts.timeout = humantime::parse_duration(&t)
            .with_context(|| format!("timeout {t:?} in the client file"))?;
    }
    Ok(opts)
}

fn bar(total: Option<u64>) -> ProgressBar {
    let show = std::io::stderr().is_terminal() && total.is_none_or(|t| t > CHUNK_BYTES as u64);
    if !show {
        return ProgressBar::hidden();
    }
    let pb = match total {
        Some(t) => ProgressBar::new(t),
        None => ProgressBar::new_spinner(),
    };
    pb.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

fn open_input(file: &Path) -> anyhow::Result<(Box<dyn std::io::Read>, Option<u64>)> {
    if file == Path::new("-") {
        return Ok((Box::new(std::io::stdin().lock()), None));
    }
    let f = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let len = f.metadata().map(|m| m.len()).ok();
    Ok((Box::new(std::io::BufReader::new(f)), len))
}

/// Where a read goes: stdout, or a file written beside its final name and renamed into place
/// only once the whole value arrived and checked out, so a failed read leaves no partial file.
struct Output {
    target: Option<(PathBuf, PathBuf)>,
}

impl Output {
    fn open(path: Option<&Path>) -> anyhow::Result<(Output, Box<dyn std::io::Write>)> {
        let Some(p) = path else {
            return Ok((Output { target: None }, Box::new(std::io::stdout().lock())));
        };
        let mut partial = p.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let f = std::fs::File::create(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?;
        let out = Output {
            target: Some((partial, p.to_path_buf())),
        };
        Ok((out, Box::new(std::io::BufWriter::new(f))))
    }

    /// Keeps the file if the read returned a value, removes it otherwise.
    fn finish(self, ok: bool) -> anyhow::Result<()> {
        let Some((partial, path)) = self.target else {
            return Ok(());
        };
        if ok {
            std::fs::rename(&partial, &path)
                .with_context(|| format!("cannot move the value into {}", path.display()))
        } else {
            let _ = std::fs::remove_file(&partial);
            Ok(())
        }
    }
}

/// Runs an object command.
pub fn run(cmd: ObjectCmd) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run_async(cmd))
}

async fn run_async(cmd: ObjectCmd) -> anyhow::Result<()> {
    match cmd {
        ObjectCmd::Put { key, file, connect } => {
            let client = Client::connect(options(&connect)?).await?;
            let (input, len) = open_input(&file)?;
            let pb = bar(len);
            let v = client
                .put_from(key.as_bytes(), input, len.unwrap_or(0), &|n| {
                    pb.set_position(n)
                })
                .await?;
            pb.finish_and_clear();
            println!("stored {key} as version {}", v.number);
        }
        ObjectCmd::Get {
            key,
            output,
            connect,
        } => {
            let client = Client::connect(options(&connect)?).await?;
            let what = format!("{key}: no such object (never written, or deleted)");
            read(&client, Source::Key(key), output.as_deref(), what).await?;
        }
        ObjectCmd::Rm { key, connect } => {
            let client = Client::connect(options(&connect)?).await?;
            let v = client.delete(key.as_bytes()).await?;
            println!("deleted {key} (tombstone version {})", v.number);
        }
        ObjectCmd::PutContent { file, connect } => {
            let client = Client::connect(options(&connect)?).await?;
            let (input, len) = open_input(&file)?;
            let pb = bar(len);
            let id = client
                .put_content_from(input, &|n| pb.set_position(n))
                .await?;
            pb.finish_and_clear();
            println!("{}", id.to_hex());
        }
        ObjectCmd::GetContent {
            id,
            output,
            connect,
        } => {
            let hash = Hash::from_hex(&id)
                .ok()
                .with_context(|| format!("{id:?} is not an object id (64 hex digits)"))?;
            let client = Client::connect(options(&connect)?).await?;
            let what = format!("{id}: no replica holds this content object");
            read(&client, Source::Content(hash), output.as_deref(), what).await?;
        }
    }
    Ok(())
}

/// What a read fetches.
enum Source {
    Key(String),
    Content(Hash),
}

/// Reads a value to stdout or `output` with a progress bar; `missing` is the error when there
/// is no such object.
async fn read(
    client: &Client,
    src: Source,
    output: Option<&Path>,
    missing: String,
) -> anyhow::Result<()> {
    let (target, out) = Output::open(output)?;
    let pb = bar(None);
    let progress = |n, total| {
        pb.set_length(total);
        pb.set_position(n);
    };
    let got = match src {
        Source::Key(key) => client.get_to(key.as_bytes(), out, &progress).await,
        Source::Content(id) => client.get_content_to(id, out, &progress).await,
    };
    pb.finish_and_clear();
    target.finish(matches!(got, Ok(Some(_))))?;
    if got?.is_none() {
        bail!("{missing}");
    }
    Ok(())
}
