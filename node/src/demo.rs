//! `rampart demo`: a local cluster in one command. It plays the admin (authority, admission
//! certificates, genesis) with the same library calls as `rampart admin`, starts one
//! `rampart node start` process per node, waits until every node is connected to every other
//! and agrees on the epoch, and prints what the nodes see.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bootstrap::admin::{self, Admin, Notes};
use bootstrap::files::Overwrite;
use bootstrap::genesis::{self, Params};
use bootstrap::{bundle, certfile, keyfile};
use overlay::cert::CertBody;
use overlay::crypto::SecretKey;
use overlay::id::NodeId;
use overlay::wire::{Request, Response, StatusReport};
use serde::Deserialize;
use tokio::process::{Child, Command};

use rampart::net::client;
use rampart::timeutil::now;

const EMBEDDED: &str = include_str!("demo.toml");
const MARKER: &str = ".rampart-demo";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Defaults {
    nodes: usize,
    base_port: u16,
    dir: PathBuf,
}

/// Flags of `rampart demo`; each overrides the embedded default.
#[derive(clap::Args)]
pub struct Args {
    /// Number of nodes (default from the embedded config: 4).
    #[arg(long)]
    nodes: Option<usize>,
    /// First TCP port; node i listens on base+i (default 17700).
    #[arg(long)]
    base_port: Option<u16>,
    /// Directory for everything the demo makes (default ./demo-cluster; recreated each run).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Show the status once and stop the cluster, instead of running until Ctrl-C.
    #[arg(long)]
    once: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let d: Defaults = toml::from_str(EMBEDDED).context("the embedded demo config")?;
    let nodes = args.nodes.unwrap_or(d.nodes);
    let base = args.base_port.unwrap_or(d.base_port);
    let dir = args.dir.unwrap_or(d.dir);
    if nodes == 0 || usize::from(base) + nodes > 65_535 {
        bail!("--nodes must be at least 1 and the ports must fit below 65536");
    }
    fresh_dir(&dir)?;
    check_ports_free(base, nodes + 1)?; // one more joins during the walkthrough
    println!("== making a system of {nodes} nodes in {}", dir.display());
    let configs = make_system(&dir, nodes, base)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run_cluster(&dir, configs, base, args.once))
}

fn fresh_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        if !dir.join(MARKER).exists() {
            bail!(
                "{} exists and was not made by `rampart demo`; choose another --dir",
                dir.display()
            );
        }
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(
        dir.join(MARKER),
        b"made by rampart demo; deleted by the next run\n",
    )?;
    Ok(())
}

fn check_ports_free(base: u16, nodes: usize) -> anyhow::Result<()> {
    for i in 0..nodes {
        let port = base + i as u16;
        std::net::TcpListener::bind(("127.0.0.1", port)).with_context(|| {
            format!("port {port} is taken; stop what uses it or pass --base-port")
        })?;
    }
    Ok(())
}

/// The demo's epochs are short so that one closes while you watch.
const EPOCH_INTERVAL_MS: u64 = 3000;

fn addr(base: u16, i: usize) -> String {
    format!("/ip4/127.0.0.1/tcp/{}", base + i as u16)
}

/// The admin's part: authority, one key and admission per node, genesis, node configs.
fn make_system(dir: &Path, nodes: usize, base: u16) -> anyhow::Result<Vec<PathBuf>> {
    let admin_dir = dir.join("admin");
    let authority = admin::init(&admin_dir, &mut rand::rngs::OsRng)?;
    println!("   authority   {}", hex::encode(authority.as_bytes()));
    let mut admin = Admin::open(&admin_dir)?;
    let t = now();
    let mut adds = Vec::new();
    for i in 0..nodes {
        let ndir = dir.join(format!("node{i}"));
        let key = SecretKey::generate(&mut rand::rngs::OsRng);
        keyfile::write(&ndir.join("node.key"), &key, Overwrite::Refuse)?;
        let cert_path = ndir.join("add.cert");
        let body = CertBody::Add {
            node: key.public(),
            addrs: vec![addr(base, i)],
        };
        let notes = Notes {
            contact: None,
            file: cert_path.display().to_string(),
        };
        let cert = admin.issue(body, t, t.plus_secs(365 * 86_400), notes);
        certfile::write(&cert_path, &cert, Overwrite::Refuse)?;
        adds.push((cert_path, cert));
    }
    admin.save()?;
    let g = genesis::create(
        authority,
        &adds,
        Params::default(),
        t,
        &mut rand::rngs::OsRng,
    )?;
    println!(
        "   epoch 0     {} members, f={}, config {}",
        g.config.members.len(),
        g.config.f,
        g.config.hash().short()
    );
    println!(
        "   MS key      {} (MS group of {})",
        hex::encode(g.ms_key.as_bytes()),
        g.config.ms_group.len()
    );
    // Clients check configurations under it, as `rampart admin genesis` leaves it.
    bootstrap::keyfile::write_public(&dir.join("admin/ms.pub"), &g.ms_key, Overwrite::Refuse)?;
    let mut configs = Vec::new();
    for (i, (_, cert)) in adds.iter().enumerate() {
        let CertBody::Add { node, .. } = &cert.content.body else {
            unreachable!("made above")
        };
        let ndir = dir.join(format!("node{i}"));
        let b = &g.bundles[&NodeId::of(node)];
        bundle::write(&ndir.join("node.bundle"), b, Overwrite::Refuse)?;
        let toml = format!(
            "data_dir = \"data\"\nkey = \"node.key\"\ngenesis = \"node.bundle\"\nlisten = \"{}\"\nbootstrap = [\"{}\"]\n\n[network]\ndial_interval_ms = 500\nexchange_interval_ms = 2000\n\n[ms]\nepoch_interval_ms = {EPOCH_INTERVAL_MS}\n",
            addr(base, i),
            addr(base, 0)
        );
        let path = ndir.join("node.toml");
        std::fs::write(&path, toml)?;
        configs.push(path);
    }
    Ok(configs)
}

async fn run_cluster(
    dir: &Path,
    configs: Vec<PathBuf>,
    base: u16,
    once: bool,
) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("cannot find the rampart binary")?;
    let mut children: Vec<Child> = Vec::new();
    for (i, cfg) in configs.iter().enumerate() {
        let log = std::fs::File::create(dir.join(format!("node{i}/node.log")))?;
        let child = Command::new(&exe)
            .args(["node", "start", "--config"])
            .arg(cfg)
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start node {i}"))?;
        children.push(child);
    }
    println!(
        "== started {} nodes (logs in {}/node*/node.log)",
        configs.len(),
        dir.display()
    );
    let reports = wait_converged(base, configs.len(), 0, Duration::from_secs(60)).await?;
    println!(
        "== every node is connected to the other {} and at epoch {}",
        configs.len() - 1,
        reports[0].epoch
    );
    for (i, r) in reports.iter().enumerate() {
        let others = r
            .members
            .iter()
            .filter(|m| m.connected && m.node != r.node)
            .count();
        println!(
            "   node{i}  {}  epoch {}  config {}  connected to {others}",
            r.node.0.short(),
            r.epoch,
            r.config_hash.short()
        );
    }
    let client = storage_walkthrough(&exe, dir, base, configs.len())?;
    membership_walkthrough(&exe, dir, base)?;
    println!(
        "\n== the MS closes the epoch ({EPOCH_INTERVAL_MS} ms after it began, since a change is queued): the old"
    );
    println!(
        "   group deals its key shares to the next, signs epoch 1 with them, and every node adopts it"
    );
    let reports = wait_converged(base, configs.len(), 1, Duration::from_secs(60)).await?;
    for (i, r) in reports.iter().enumerate() {
        println!(
            "   node{i}  {}  epoch {}  config {}",
            r.node.0.short(),
            r.epoch,
            r.config_hash.short()
        );
    }
    shown(&exe, &["status", "--peer", &addr(base, 2)])?;
    println!(
        "\n== the object written in epoch 0 reads back in epoch 1 (the client learns the new epoch)"
    );
    shown(&exe, &["get", "greeting", "--client", &client])?;
    join_walkthrough(&exe, dir, base, configs.len(), &client, &mut children).await?;
    let dashboard = analyser_walkthrough(&exe, dir, base).await?;
    if once {
        println!("\n== stopping the cluster (--once)");
        stop(children).await;
        return Ok(());
    }
    println!(
        "\nThe cluster runs until Ctrl-C. Open {dashboard} in a browser, or try: {} analyze --peer {} --watch 2s",
        exe.display(),
        addr(base, 1)
    );
    tokio::select! {
        _ = tokio::signal::ctrl_c() => println!("\n== stopping the cluster"),
        res = wait_any_exit(&mut children) => println!("\n== a node exited ({res}); stopping the cluster"),
    }
    stop(children).await;
    Ok(())
}

/// More objects are stored, then one more node joins: the admin admits it, it starts from its
/// admission, becomes a member at the next epoch and fetches the ranges it now owns from their
/// old replicas; the old replicas delete what they no longer own once it holds it.
async fn join_walkthrough(
    exe: &Path,
    dir: &Path,
    base: u16,
    nodes: usize,
    client: &str,
    children: &mut Vec<Child>,
) -> anyhow::Result<()> {
    println!("\n== 40 more objects, then node{nodes} joins and the ranges it now owns move to it");
    let file = dir.join("object.txt");
    for k in 0..40 {
        std::fs::write(&file, format!("demo object {k}\n"))?;
        let out = std::process::Command::new(exe)
            .args(["put", &format!("object{k}")])
            .arg(&file)
            .args(["--client", client])
            .output()?;
        if !out.status.success() {
            bail!(
                "rampart put object{k} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let ndir = dir.join(format!("node{nodes}"));
    let admin = dir.join("admin").display().to_string();
    let path = |name: &str| ndir.join(name).display().to_string();
    shown(exe, &["keygen", "--out", &path("node.key")])?;
    let out = shown(
        exe,
        &[
            "admin",
            "--admin-dir",
            &admin,
            "add-node",
            "--key",
            &path("node.pub"),
            "--addr",
            &addr(base, nodes),
            "--out",
            &path("add.cert"),
            "--admission",
            &path("node.admission"),
        ],
    )?;
    if !out.status.success() {
        bail!("the admin could not admit node{nodes}");
    }
    let toml = format!(
        "data_dir = \"data\"\nkey = \"node.key\"\nadmission = \"node.admission\"\nlisten = \"{}\"\nbootstrap = [\"{}\"]\n\n[network]\ndial_interval_ms = 500\nexchange_interval_ms = 2000\n\n[ms]\nepoch_interval_ms = {EPOCH_INTERVAL_MS}\n",
        addr(base, nodes),
        addr(base, 0)
    );
    let config = ndir.join("node.toml");
    std::fs::write(&config, toml)?;
    let log = std::fs::File::create(ndir.join("node.log"))?;
    let child = Command::new(exe)
        .args(["node", "start", "--config"])
        .arg(&config)
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .context("cannot start the joining node")?;
    children.push(child);
    println!("   started node{nodes} with its admission; it asks a member to hand it to the MS");
    let reports = wait_converged(base, nodes + 1, 2, Duration::from_secs(90)).await?;
    println!(
        "== every node is at epoch {} with {} members; node{nodes} fetches its ranges",
        reports[0].epoch,
        reports[0].members.len()
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done = match client::request(
            &addr(base, nodes),
            Request::Status,
            Duration::from_secs(3),
        )
        .await
        {
            Ok(Response::Status(r)) => r
                .store
                .as_ref()
                .is_some_and(|s| s.transfer.pending_ranges == 0 && s.transfer.ranges_finished > 0),
            _ => false,
        };
        if done {
            break;
        }
        if Instant::now() > deadline {
            bail!("node{nodes} did not finish its state transfer within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    shown(exe, &["status", "--peer", &addr(base, nodes)])?;
    println!("\n== every object still reads back, the new node among its replicas");
    shown(exe, &["get", "object7", "--client", client])?;
    Ok(())
}

/// Every node serves the analyser; the admin registers an analyst, who looks at a node from
/// the terminal and gets a token for its dashboard from another host. Returns node0's
/// dashboard address.
async fn analyser_walkthrough(exe: &Path, dir: &Path, base: u16) -> anyhow::Result<String> {
    let http = match client::request(&addr(base, 0), Request::Status, Duration::from_secs(5)).await
    {
        Ok(Response::Status(r)) => r.http.unwrap_or_default(),
        _ => String::new(),
    };
    let dashboard = format!("http://{http}/");
    println!(
        "\n== the node analyser: node0's dashboard is {dashboard} (ring, members and probes, transfers,"
    );
    println!(
        "   epochs, evictions and revocations; it refreshes itself); the same from the terminal:"
    );
    let admin = dir.join("admin").display().to_string();
    let cred = dir.join("demo-analyst.cred");
    let cred_s = cred.display().to_string();
    if !cred.exists() {
        add_client(exe, &admin, "demo-analyst", "analyze", &cred_s)?;
    }
    shown(
        exe,
        &["analyze", "--peer", &addr(base, 0), "--credential", &cred_s],
    )?;
    println!(
        "\n== from another host the HTTP analyser needs a token for that node, signed with an `analyze` credential:"
    );
    shown(
        exe,
        &[
            "analyze",
            "--token",
            "--peer",
            &addr(base, 0),
            "--credential",
            &cred_s,
            "--valid",
            "1h",
        ],
    )?;
    Ok(dashboard)
}

/// The admin registers a storage client; it writes and reads a keyed object and a content
/// object through the CLI. Returns the client file's path.
fn storage_walkthrough(exe: &Path, dir: &Path, base: u16, nodes: usize) -> anyhow::Result<String> {
    let admin = dir.join("admin").display().to_string();
    let cred = dir.join("demo-store.cred");
    println!(
        "\n== the admin registers a storage client; it stores and reads objects (dBQS, quorums of 2f+1 = 3)"
    );
    add_client(
        exe,
        &admin,
        "demo-store",
        "put,get",
        &cred.display().to_string(),
    )?;
    let peers: Vec<String> = (0..nodes).map(|i| format!("{:?}", addr(base, i))).collect();
    let client = dir.join("client.toml");
    std::fs::write(
        &client,
        format!(
            "credential = \"demo-store.cred\"\nms_key = \"admin/ms.pub\"\nbootstrap = [{}]\n",
            peers.join(", ")
        ),
    )?;
    println!(
        "   (client file {}: credential, MS key, bootstrap peers)",
        client.display()
    );
    let client = client.display().to_string();
    let file = dir.join("greeting.txt");
    std::fs::write(&file, "hello from rampart\n")?;
    let file = file.display().to_string();
    shown(exe, &["put", "greeting", &file, "--client", &client])?;
    shown(exe, &["get", "greeting", "--client", &client])?;
    let out = shown(exe, &["put-content", &file, "--client", &client])?;
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !id.is_empty() {
        shown(exe, &["get-content", &id, "--client", &client])?;
    }
    Ok(client)
}

/// The admin registers a client and revokes it through the membership service: the
/// revocation is ordered by the MS group's PBFT and queued for the next epoch, and a replay of
/// the same certificate is refused.
fn membership_walkthrough(exe: &Path, dir: &Path, base: u16) -> anyhow::Result<()> {
    let admin_dir = dir.join("admin");
    let admin = admin_dir.display().to_string();
    let cred = dir.join("demo-app.cred").display().to_string();
    let revoke = dir.join("demo-app.revoke").display().to_string();
    println!("\n== the admin registers a client, then revokes it through the membership service");
    add_client(exe, &admin, "demo-app", "put,get", &cred)?;
    shown(
        exe,
        &[
            "admin",
            "--admin-dir",
            &admin,
            "revoke-client",
            "--client",
            "demo-app",
            "--out",
            &revoke,
            "--peer",
            &addr(base, 0),
        ],
    )?;
    println!("   (the same certificate again, through another node: refused as a replay)");
    shown(
        exe,
        &[
            "admin",
            "--admin-dir",
            &admin,
            "submit",
            &revoke,
            "--peer",
            &addr(base, 2),
        ],
    )?;
    shown(exe, &["status", "--peer", &addr(base, 1)])?;
    println!("\n== a client that was away asks any node for a freshness certificate: f_ms+1 MS");
    println!(
        "   holders sign (nonce, epoch) with their FROST shares; one Ed25519 signature results"
    );
    let bundle = dir.join("node0/node.bundle").display().to_string();
    shown(
        exe,
        &["freshness", "--peer", &addr(base, 3), "--ms-key", &bundle],
    )?;
    Ok(())
}

/// `rampart admin add-client` for 30 days, shown.
fn add_client(exe: &Path, admin: &str, name: &str, caps: &str, out: &str) -> anyhow::Result<()> {
    shown(
        exe,
        &[
            "admin",
            "--admin-dir",
            admin,
            "add-client",
            "--name",
            name,
            "--caps",
            caps,
            "--expires",
            "30d",
            "--out",
            out,
        ],
    )?;
    Ok(())
}

/// Runs `rampart <args>`, printing the command and what it printed.
fn shown(exe: &Path, args: &[&str]) -> anyhow::Result<std::process::Output> {
    println!("\n$ rampart {}", args.join(" "));
    let out = std::process::Command::new(exe).args(args).output()?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    print!("{}", String::from_utf8_lossy(&out.stderr));
    Ok(out)
}

async fn wait_any_exit(children: &mut [Child]) -> String {
    loop {
        for (i, c) in children.iter_mut().enumerate() {
            if let Ok(Some(status)) = c.try_wait() {
                return format!("node{i}: {status}");
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn stop(children: Vec<Child>) {
    for mut c in children {
        let _ = c.start_kill();
        let _ = c.wait().await;
    }
}

/// Polls every node's status until all are connected to all and agree on a configuration of
/// at least `min_epoch`, or the deadline passes.
async fn wait_converged(
    base: u16,
    n: usize,
    min_epoch: u64,
    limit: Duration,
) -> anyhow::Result<Vec<StatusReport>> {
    let deadline = Instant::now() + limit;
    let mut last_problem = String::from("no answer yet");
    while Instant::now() < deadline {
        let mut reports = Vec::new();
        for i in 0..n {
            match client::request(&addr(base, i), Request::Status, Duration::from_secs(3)).await {
                Ok(Response::Status(r)) => reports.push(*r),
                Ok(other) => last_problem = format!("node{i} answered {other:?}"),
                Err(e) => last_problem = format!("node{i}: {e:#}"),
            }
        }
        if reports.len() == n {
            let agree = reports
                .iter()
                .all(|r| r.config_hash == reports[0].config_hash && r.epoch.0 >= min_epoch);
            let meshed = reports
                .iter()
                .all(|r| r.members.iter().all(|m| m.connected));
            if agree && meshed {
                return Ok(reports);
            }
            last_problem = "nodes are still connecting".into();
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    bail!(
        "the cluster did not converge within {}s: {last_problem}",
        limit.as_secs()
    )
}
