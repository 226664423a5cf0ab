//! `rampart admin ...`: the authority's tools.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use bootstrap::admin::{self, Admin, Notes};
use bootstrap::credential::{self, Credential};
use bootstrap::files::Overwrite;
use bootstrap::genesis::{self, Params};
use bootstrap::registry::Listing;
use bootstrap::{admission, bundle, certfile, keyfile};
use clap::Subcommand;
use overlay::cert::{Capabilities, CertBody};
use overlay::crypto::{SecretKey, public_key_from_hex};
use overlay::id::{ClientId, Hash, NodeId};
use overlay::time::Timestamp;

use rampart::timeutil::{self, now, parse_expiry};

#[derive(Subcommand)]
pub enum AdminCmd {
    /// Create the authority keypair in the admin directory (refuses to overwrite).
    Init,
    /// Admit a node: write an `add` certificate for its public key and addresses.
    AddNode {
        /// The node's public key: 64 hex digits or a .pub file from `rampart keygen`.
        #[arg(long)]
        key: String,
        /// A multiaddr the node listens on (repeatable).
        #[arg(long = "addr", required = true)]
        addrs: Vec<String>,
        /// How long the certificate may be submitted.
        #[arg(long, default_value = "365d")]
        valid: String,
        /// Where to write the certificate.
        #[arg(long)]
        out: PathBuf,
        /// Also submit it to the membership service through this member (a multiaddr).
        #[arg(long)]
        peer: Option<String>,
        /// Also write an admission (the certificate with the authority and MS public keys)
        /// for `rampart node start --admission`, to join the running system.
        #[arg(long)]
        admission: Option<PathBuf>,
    },
    /// Remove a node: write a `remove` certificate.
    RemoveNode {
        /// The node: its id (64 hex digits), its .pub file, or its public key in hex if the
        /// registry lists it.
        #[arg(long)]
        node: String,
        /// How long the certificate may be submitted.
        #[arg(long, default_value = "7d")]
        valid: String,
        /// Where to write the certificate.
        #[arg(long)]
        out: PathBuf,
        /// Also submit it to the membership service through this member (a multiaddr).
        #[arg(long)]
        peer: Option<String>,
    },
    /// Register a client: write its credential (key and certificate, mode 0600).
    AddClient {
        /// The client's name.
        #[arg(long)]
        name: String,
        /// Contact details kept in the registry only.
        #[arg(long)]
        contact: Option<String>,
        /// Capabilities: a comma-separated list of put, get, analyze.
        #[arg(long, default_value = "put,get")]
        caps: String,
        /// Expiry: a duration (90d) or a date (2027-01-31).
        #[arg(long, default_value = "90d")]
        expires: String,
        /// Use this public key (hex or .pub file) instead of generating one; then only a
        /// certificate is written.
        #[arg(long)]
        key: Option<String>,
        /// Where to write the credential (or certificate).
        #[arg(long)]
        out: PathBuf,
    },
    /// Renew a client: same key, new expiry.
    RenewClient {
        /// The client's name or id.
        #[arg(long)]
        client: String,
        /// New expiry: a duration (90d) or a date.
        #[arg(long, default_value = "90d")]
        expires: String,
        /// Where to write the renewed credential (or certificate).
        #[arg(long)]
        out: PathBuf,
    },
    /// Revoke a client: write a `revoke` certificate.
    RevokeClient {
        /// The client's name or id.
        #[arg(long)]
        client: String,
        /// Where to write the certificate.
        #[arg(long)]
        out: PathBuf,
        /// Also submit it to the membership service through this member (a multiaddr).
        #[arg(long)]
        peer: Option<String>,
    },
    /// Submit an add, remove or revoke certificate to the membership service.
    Submit {
        /// The certificate file.
        cert: PathBuf,
        /// A member of the running system (a multiaddr).
        #[arg(long)]
        peer: String,
    },
    /// List registered clients.
    Clients {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List admitted nodes.
    Nodes {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make epoch 0 from admission certificates: one bundle per node, with the MS key shares.
    Genesis {
        /// An `add` certificate (repeatable).
        #[arg(long = "cert", required = true)]
        certs: Vec<PathBuf>,
        /// Directory for the bundles.
        #[arg(long)]
        out: PathBuf,
        /// Faults tolerated per replica group (default 1: groups of 4).
        #[arg(long)]
        f: Option<u32>,
        /// Faults tolerated in the MS group (default as f; at least 1).
        #[arg(long)]
        f_ms: Option<u32>,
        /// Ring positions per node.
        #[arg(long, default_value_t = overlay::constants::VNODES_DEFAULT)]
        vnodes: u32,
    },
}

pub fn run(dir: &Path, cmd: AdminCmd) -> anyhow::Result<()> {
    if let AdminCmd::Init = cmd {
        let key = admin::init(dir, &mut rand::rngs::OsRng)?;
        println!(
            "authority key created in {} (secret mode 0600)",
            dir.display()
        );
        println!("authority public key {}", hex::encode(key.as_bytes()));
        return Ok(());
    }
    let mut admin = Admin::open(dir)?;
    let now = now();
    match cmd {
        AdminCmd::Init => unreachable!("handled above"),
        AdminCmd::AddNode {
            key,
            addrs,
            valid,
            out,
            peer,
            admission,
        } => {
            let node = keyfile::read_public(&key)?;
            let body = CertBody::Add { node, addrs };
            body.check_bounds()
                .map_err(|e| anyhow::anyhow!("--addr: {e}"))?;
            for a in body_addrs(&body) {
                a.parse::<libp2p::Multiaddr>()
                    .with_context(|| format!("--addr {a:?} is not a multiaddr"))?;
            }
            issue_cert(&mut admin, body, now, &valid, &out)?;
            println!("node {} admitted: {}", NodeId::of(&node), out.display());
            if let Some(path) = admission {
                write_admission(dir, &admin, &out, &path, now)?;
            }
            submit_written(&admin, &out, peer.as_deref(), now)?;
        }
        AdminCmd::RemoveNode {
            node,
            valid,
            out,
            peer,
        } => {
            let id = parse_node(&admin, &node)?;
            issue_cert(&mut admin, CertBody::Remove { node: id }, now, &valid, &out)?;
            println!("removal of node {id} written to {}", out.display());
            submit_written(&admin, &out, peer.as_deref(), now)?;
        }
        AdminCmd::AddClient {
            name,
            contact,
            caps,
            expires,
            key,
            out,
        } => {
            let caps = Capabilities::parse(&caps).map_err(|e| anyhow::anyhow!("--caps: {e}"))?;
            let not_after =
                parse_expiry(&expires, now).map_err(|e| anyhow::anyhow!("--expires: {e}"))?;
            let secret = match &key {
                Some(_) => None,
                None => Some(SecretKey::generate(&mut rand::rngs::OsRng)),
            };
            let public = match (&key, &secret) {
                (Some(k), _) => keyfile::read_public(k)?,
                (None, Some(s)) => s.public(),
                (None, None) => unreachable!("a key is given or generated"),
            };
            let body = CertBody::Client {
                key: public,
                name: name.clone(),
                caps,
            };
            body.check_bounds()
                .map_err(|e| anyhow::anyhow!("--name: {e}"))?;
            write_client(&mut admin, body, now, not_after, secret, contact, &out)?;
            println!(
                "client {name:?} ({}) registered until {}: {}",
                ClientId::of(&public),
                timeutil::show(not_after),
                out.display()
            );
        }
        AdminCmd::RenewClient {
            client,
            expires,
            out,
        } => {
            let rec = admin
                .registry
                .find_client(&client)
                .map_err(anyhow::Error::msg)?
                .clone();
            let not_after =
                parse_expiry(&expires, now).map_err(|e| anyhow::anyhow!("--expires: {e}"))?;
            let public = public_key_from_hex(rec.key.as_deref().unwrap_or_default())
                .map_err(anyhow::Error::msg)?;
            let caps = Capabilities::parse(rec.caps.as_deref().unwrap_or_default())
                .map_err(anyhow::Error::msg)?;
            let name = rec.name.clone().unwrap_or_default();
            // Keep the client's key: reuse the secret from the credential the admin wrote, if
            // it is still there; otherwise the client holds the key and gets a certificate.
            let secret = credential::read(Path::new(&rec.file)).ok().map(|c| c.key);
            let body = CertBody::Client {
                key: public,
                name: name.clone(),
                caps,
            };
            write_client(
                &mut admin,
                body,
                now,
                not_after,
                secret,
                rec.contact.clone(),
                &out,
            )?;
            println!(
                "client {name:?} renewed until {}: {}",
                timeutil::show(not_after),
                out.display()
            );
        }
        AdminCmd::RevokeClient { client, out, peer } => {
            let rec = admin
                .registry
                .find_client(&client)
                .map_err(anyhow::Error::msg)?
                .clone();
            let id =
                ClientId(Hash::from_hex(&rec.subject).context("registry holds a bad client id")?);
            let until = Timestamp(rec.not_after.max(now.0));
            let body = CertBody::Revoke { client: id };
            let cert = admin.issue(
                body,
                now,
                until,
                Notes {
                    contact: None,
                    file: out.display().to_string(),
                },
            );
            certfile::write(&out, &cert, Overwrite::Refuse)?;
            admin.save()?;
            println!(
                "revocation of client {:?} written to {}",
                rec.name.unwrap_or_default(),
                out.display()
            );
            submit_written(&admin, &out, peer.as_deref(), now)?;
        }
        AdminCmd::Submit { cert, peer } => {
            let c = certfile::read_verified(&cert, &admin.public(), now)?;
            super::submit::submit(&admin, &c, &peer)?;
        }
        AdminCmd::Clients { json } => print_listing(&admin.registry.clients(now.0), json, true)?,
        AdminCmd::Nodes { json } => print_listing(&admin.registry.nodes(now.0), json, false)?,
        AdminCmd::Genesis {
            certs,
            out,
            f,
            f_ms,
            vnodes,
        } => {
            let ms_key = genesis_cmd(&admin, &certs, &out, f, f_ms, vnodes, now)?;
            // Remembered for admissions to the running system.
            keyfile::write_public(&dir.join(MS_KEY_FILE), &ms_key, Overwrite::Replace)?;
        }
    }
    Ok(())
}

/// The file in the admin directory that remembers the MS public key from genesis.
const MS_KEY_FILE: &str = "ms.pub";

/// Writes the admission for the certificate at `cert`.
fn write_admission(
    dir: &Path,
    admin: &Admin,
    cert: &Path,
    out: &Path,
    now: Timestamp,
) -> anyhow::Result<()> {
    let ms_key = keyfile::read_public(&dir.join(MS_KEY_FILE).display().to_string()).map_err(|_| {
        anyhow::anyhow!(
            "{}: the MS public key is not known here; it is recorded by `rampart admin genesis`",
            dir.join(MS_KEY_FILE).display()
        )
    })?;
    let a = admission::Admission {
        cert: certfile::read_kind(cert, "add", &admin.public(), now)?,
        authority: admin.public(),
        ms_key,
    };
    admission::write(out, &a, Overwrite::Refuse)?;
    println!(
        "admission written to {}: start the node with --admission {} --bootstrap <a member>",
        out.display(),
        out.display()
    );
    Ok(())
}

/// Submits the certificate just written to `out`, when `--peer` was given.
fn submit_written(
    admin: &Admin,
    out: &Path,
    peer: Option<&str>,
    now: Timestamp,
) -> anyhow::Result<()> {
    let Some(peer) = peer else { return Ok(()) };
    let c = certfile::read_verified(out, &admin.public(), now)?;
    super::submit::submit(admin, &c, peer)
        .map_err(|e| e.context(format!("{} was written but not submitted", out.display())))
}

fn body_addrs(body: &CertBody) -> Vec<String> {
    match body {
        CertBody::Add { addrs, .. } => addrs.clone(),
        _ => vec![],
    }
}

/// The node `--node` names: a .pub file is a key; 64 hex digits are a node id, unless the
/// registry knows them as the key of an admitted node (ids and keys are both 64 hex digits,
/// and most 32-byte strings also decode as keys, so a guess would be wrong half the time).
fn parse_node(admin: &Admin, s: &str) -> anyhow::Result<NodeId> {
    let s = s.trim();
    if std::path::Path::new(s).is_file() {
        return Ok(NodeId::of(&keyfile::read_public(s)?));
    }
    let hex = Hash::from_hex(s).map_err(|_| {
        anyhow::anyhow!("--node {s:?}: neither a node id (64 hex digits) nor a .pub file")
    })?;
    let known_key = admin
        .registry
        .records
        .iter()
        .any(|r| r.kind == "add" && r.key.as_deref() == Some(s));
    if known_key && let Ok(k) = keyfile::read_public(s) {
        return Ok(NodeId::of(&k));
    }
    Ok(NodeId(hex))
}

fn issue_cert(
    admin: &mut Admin,
    body: CertBody,
    now: Timestamp,
    valid: &str,
    out: &Path,
) -> anyhow::Result<()> {
    let not_after = parse_expiry(valid, now).map_err(|e| anyhow::anyhow!("--valid: {e}"))?;
    let cert = admin.issue(
        body,
        now,
        not_after,
        Notes {
            contact: None,
            file: out.display().to_string(),
        },
    );
    certfile::write(out, &cert, Overwrite::Refuse)?;
    admin.save()?;
    Ok(())
}

fn write_client(
    admin: &mut Admin,
    body: CertBody,
    now: Timestamp,
    not_after: Timestamp,
    secret: Option<SecretKey>,
    contact: Option<String>,
    out: &Path,
) -> anyhow::Result<()> {
    let cert = admin.issue(
        body,
        now,
        not_after,
        Notes {
            contact,
            file: out.display().to_string(),
        },
    );
    match secret {
        Some(key) => credential::write(out, &Credential { key, cert }, Overwrite::Refuse)?,
        None => certfile::write(out, &cert, Overwrite::Refuse)?,
    }
    admin.save()?;
    Ok(())
}

fn print_listing(list: &[Listing], json: bool, clients: bool) -> anyhow::Result<()> {
    if json {
        let rows: Vec<serde_json::Value> = list
            .iter()
            .map(|l| {
                let mut v = serde_json::to_value(&l.record).unwrap_or_default();
                v["state"] = serde_json::Value::from(l.state);
                v
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if list.is_empty() {
        println!("(none)");
        return Ok(());
    }
    for l in list {
        let r = &l.record;
        let short = &r.subject[..16.min(r.subject.len())];
        let until = timeutil::show(Timestamp(r.not_after));
        if clients {
            println!(
                "{short}  {:<20} {:<8} caps={:<15} until {until}  {}",
                r.name.as_deref().unwrap_or(""),
                l.state,
                r.caps.as_deref().unwrap_or(""),
                r.contact.as_deref().unwrap_or("")
            );
        } else {
            println!("{short}  {:<8} {}", l.state, r.addrs.join(" "));
        }
    }
    Ok(())
}

fn genesis_cmd(
    admin: &Admin,
    certs: &[PathBuf],
    out: &Path,
    f: Option<u32>,
    f_ms: Option<u32>,
    vnodes: u32,
    now: Timestamp,
) -> anyhow::Result<overlay::crypto::PublicKey> {
    let mut adds = Vec::new();
    for p in certs {
        adds.push((
            p.clone(),
            certfile::read_kind(p, "add", &admin.public(), now)?,
        ));
    }
    let defaults = Params::default();
    let f = f.unwrap_or(defaults.f);
    let params = Params {
        f,
        f_ms: f_ms.unwrap_or(f),
        vnodes,
    };
    if out.exists()
        && std::fs::read_dir(out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false)
    {
        bail!(
            "{}: exists and is not empty; genesis writes fresh bundles only",
            out.display()
        );
    }
    let g = genesis::create(admin.public(), &adds, params, now, &mut rand::rngs::OsRng)?;
    for (id, b) in &g.bundles {
        let path = out.join(format!("{}.bundle", &id.to_string()[..16]));
        bundle::write(&path, b, Overwrite::Refuse)?;
    }
    println!(
        "epoch 0: {} members, f={}, f_ms={}, config {}",
        g.config.members.len(),
        g.config.f,
        g.config.f_ms,
        g.config.hash()
    );
    println!("MS public key {}", hex::encode(g.ms_key.as_bytes()));
    for (id, b) in &g.bundles {
        let role = if b.share.is_some() {
            "MS member, holds a key share"
        } else {
            "member"
        };
        println!(
            "  {}  {}/{}.bundle  {role}",
            &id.to_string()[..16],
            out.display(),
            &id.to_string()[..16]
        );
    }
    println!("give each node its bundle (mode 0600: MS bundles hold a secret share)");
    Ok(g.ms_key)
}
