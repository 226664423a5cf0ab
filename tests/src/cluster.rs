//! A cluster of real `rampart node` processes made with the CLI, as an operator would.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{free_port, rampart, rampart_bin, rampart_ok, wait_for};

/// One node process and its files.
pub struct Node {
    /// Its multiaddr.
    pub addr: String,
    /// Its directory (key, certificate, bundle, data, log).
    pub dir: PathBuf,
    /// The running process, if started.
    pub proc: Option<Child>,
    /// A command prefix it runs under (e.g. `ip netns exec <ns>`), empty for none.
    pub prefix: Vec<String>,
    /// Extra arguments to `rampart node start` (e.g. `--byzantine stale`).
    pub extra: Vec<String>,
}

impl Node {
    /// The node's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default()
    }

    /// The last `n` warnings and errors in its log, for failure messages.
    pub fn warnings(&self, n: usize) -> String {
        let log = self.log();
        let bad: Vec<&str> = log
            .lines()
            .filter(|l| l.contains(" WARN ") || l.contains(" ERROR ") || l.contains("error"))
            .collect();
        bad[bad.len().saturating_sub(n)..].join("\n")
    }
}

/// Nodes made by `rampart admin` in a temporary directory; killed on drop.
pub struct Cluster {
    /// Temporary root; removed on drop.
    pub root: tempfile::TempDir,
    /// The nodes.
    pub nodes: Vec<Node>,
    /// Extra TOML every node's configuration file holds (e.g. a `[pbft]` table).
    pub node_config: String,
    /// An analyst credential for status requests from outside the nodes' host (nodes in
    /// network namespaces see the test as another host).
    pub analyst: Option<PathBuf>,
}

impl Cluster {
    /// Makes an authority, `n` node keys and admissions, and a genesis, all with the CLI.
    pub fn genesis(n: usize) -> Cluster {
        let addrs = (0..n)
            .map(|_| format!("/ip4/127.0.0.1/tcp/{}", free_port()))
            .collect();
        Cluster::genesis_at(addrs, vec![Vec::new(); n])
    }

    /// As `genesis`, with node `i` at `addrs[i]` and started under `prefixes[i]`.
    pub fn genesis_at(addrs: Vec<String>, prefixes: Vec<Vec<String>>) -> Cluster {
        let root = tempfile::tempdir().expect("temp dir");
        let admin = root.path().join("admin");
        let admin_s = admin.to_str().expect("utf-8 path");
        rampart_ok(&["admin", "--admin-dir", admin_s, "init"]);
        let mut nodes = Vec::new();
        let mut cert_args: Vec<String> = Vec::new();
        for (i, (addr, prefix)) in addrs.into_iter().zip(prefixes).enumerate() {
            let dir = root.path().join(format!("node{i}"));
            admit(&admin, &dir, &addr, &[]);
            let cert = dir.join("add.cert");
            cert_args.push("--cert".into());
            cert_args.push(cert.to_str().expect("utf-8").into());
            nodes.push(Node {
                addr,
                dir,
                proc: None,
                prefix,
                extra: Vec::new(),
            });
        }
        let bundles = root.path().join("bundles");
        let mut args = vec![
            "admin",
            "--admin-dir",
            admin_s,
            "genesis",
            "--out",
            bundles.to_str().expect("utf-8"),
        ];
        args.extend(cert_args.iter().map(String::as_str));
        rampart_ok(&args);
        for node in &nodes {
            let id = node_id(&node.dir.join("node.pub"));
            let bundle = bundles.join(format!("{}.bundle", &id[..16]));
            std::fs::rename(&bundle, node.dir.join("node.bundle")).expect("move bundle");
        }
        Cluster {
            root,
            nodes,
            node_config: String::new(),
            analyst: None,
        }
    }

    /// The admin directory.
    pub fn admin_dir(&self) -> PathBuf {
        self.root.path().join("admin")
    }

    /// Starts node `i` with its key, its genesis bundle (or, for a node that joined, its
    /// admission) and the first node as bootstrap peer.
    pub fn start(&mut self, i: usize) {
        let bootstrap = self.nodes[0].addr.clone();
        let node = &mut self.nodes[i];
        let bundle = node.dir.join("node.bundle");
        let (from, file) = if bundle.exists() {
            ("--genesis", bundle)
        } else {
            ("--admission", node.dir.join("node.admission"))
        };
        let config = node.dir.join("node.toml");
        std::fs::write(&config, &self.node_config).expect("write node.toml");
        // Appended to, so a restarted node's log keeps what it said before.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(node.dir.join("node.log"))
            .expect("log file");
        let mut cmd = match node.prefix.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(rampart_bin());
                c
            }
            None => Command::new(rampart_bin()),
        };
        let child = cmd
            .args(["node", "start", "--config"])
            .arg(&config)
            .arg("--data-dir")
            .arg(node.dir.join("data"))
            .arg("--key")
            .arg(node.dir.join("node.key"))
            .arg(from)
            .arg(file)
            .args(["--listen", &node.addr, "--bootstrap", &bootstrap])
            .args(&node.extra)
            .env(
                "RUST_LOG",
                std::env::var("RAMPART_TEST_LOG").unwrap_or_else(|_| "info,libp2p=warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start rampart node");
        node.proc = Some(child);
    }

    /// Starts every node.
    pub fn start_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.start(i);
        }
    }

    /// `rampart status --peer <node i> --json`, parsed; an error if the node does not answer.
    pub fn status(&self, i: usize) -> Result<serde_json::Value, String> {
        match &self.analyst {
            Some(cred) => analyze_of(&self.nodes[i].addr, cred),
            None => status_of(&self.nodes[i].addr),
        }
    }

    /// Waits until every node is connected to every other and they agree on the epoch and
    /// configuration hash; returns the statuses.
    pub fn wait_meshed(&self, limit: Duration) -> Vec<serde_json::Value> {
        wait_for(
            "every node connected to every other, one configuration",
            limit,
            || {
                let statuses: Vec<serde_json::Value> = (0..self.nodes.len())
                    .map(|i| self.status(i))
                    .collect::<Result<_, _>>()?;
                for (i, s) in statuses.iter().enumerate() {
                    let members = s["members"].as_array().ok_or("no members")?;
                    if members.len() != self.nodes.len() {
                        return Err(format!("node{i} lists {} members", members.len()));
                    }
                    if let Some(m) = members.iter().find(|m| m["connected"] != true) {
                        return Err(format!(
                            "node{i} is not connected to {}; node{i}'s last warnings:\n{}",
                            m["node"],
                            self.nodes[i].warnings(5)
                        ));
                    }
                    if s["config_hash"] != statuses[0]["config_hash"]
                        || s["epoch"] != statuses[0]["epoch"]
                    {
                        return Err(format!("node{i} disagrees on the configuration"));
                    }
                }
                Ok(statuses)
            },
        )
    }

    /// Admits a new node with `rampart admin add-node --admission` and starts it with
    /// `--admission` and the first node as bootstrap peer; returns its index.
    pub fn join(&mut self) -> usize {
        let addr = format!("/ip4/127.0.0.1/tcp/{}", free_port());
        self.join_at(addr, Vec::new())
    }

    /// As `join`, with the node at `addr`, started under `prefix`.
    pub fn join_at(&mut self, addr: String, prefix: Vec<String>) -> usize {
        let i = self.nodes.len();
        let dir = self.root.path().join(format!("node{i}"));
        let admission = dir.join("node.admission");
        admit(
            &self.admin_dir(),
            &dir,
            &addr,
            &["--admission", admission.to_str().expect("utf-8")],
        );
        self.nodes.push(Node {
            addr,
            dir,
            proc: None,
            prefix,
            extra: Vec::new(),
        });
        self.start(i);
        i
    }

    /// Kills node `i` (SIGKILL) and reaps it.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].proc.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
        // RAMPART_KEEP=1 keeps a failed test's files (logs, data) for a look afterwards.
        if std::thread::panicking() && std::env::var_os("RAMPART_KEEP").is_some() {
            let kept = self.root.path().with_extension("kept");
            if std::fs::rename(self.root.path(), &kept).is_ok() {
                eprintln!("cluster files kept in {}", kept.display());
            }
        }
    }
}

/// A node key in `dir` and the admin's `add` certificate for it at `addr` (`dir/add.cert`),
/// with `extra` arguments to `add-node`.
fn admit(admin: &Path, dir: &Path, addr: &str, extra: &[&str]) {
    rampart_ok(&[
        "keygen",
        "--out",
        dir.join("node.key").to_str().expect("utf-8"),
    ]);
    let mut args = vec![
        "admin",
        "--admin-dir",
        admin.to_str().expect("utf-8"),
        "add-node",
        "--key",
    ];
    let key = dir.join("node.pub");
    let cert = dir.join("add.cert");
    args.push(key.to_str().expect("utf-8"));
    args.extend(["--addr", addr, "--out", cert.to_str().expect("utf-8")]);
    args.extend(extra);
    rampart_ok(&args);
}

/// `rampart status --peer addr --json`, parsed.
pub fn status_of(addr: &str) -> Result<serde_json::Value, String> {
    let out = rampart(&["status", "--peer", addr, "--json", "--timeout", "3s"]);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("status is not JSON: {e}"))
}

/// `rampart analyze --peer addr --credential cred --json`, parsed: status as an analyst, for
/// nodes that see the asker as another host.
pub fn analyze_of(addr: &str, cred: &Path) -> Result<serde_json::Value, String> {
    let out = rampart(&[
        "analyze",
        "--peer",
        addr,
        "--credential",
        cred.to_str().ok_or("credential path is not UTF-8")?,
        "--json",
        "--timeout",
        "3s",
    ]);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("status is not JSON: {e}"))
}

/// The node id of the key in a `.pub` file, as `rampart keygen` printed it.
fn node_id(pub_file: &Path) -> String {
    let hexkey = std::fs::read_to_string(pub_file).expect("read .pub");
    let key = overlay::crypto::public_key_from_hex(&hexkey).expect("public key");
    overlay::id::NodeId::of(&key).to_string()
}

impl Cluster {
    /// Registers a client with `caps` (and `expires`, e.g. "30d") through `rampart admin
    /// add-client` and writes a client file naming its credential, the MS key and every node
    /// as bootstrap peer; returns the client file's path.
    pub fn client(&self, name: &str, caps: &str, expires: &str) -> PathBuf {
        let dir = self.root.path().join("clients");
        std::fs::create_dir_all(&dir).expect("clients dir");
        let cred = dir.join(format!("{name}.cred"));
        rampart_ok(&[
            "admin",
            "--admin-dir",
            self.admin_dir().to_str().expect("utf-8"),
            "add-client",
            "--name",
            name,
            "--caps",
            caps,
            "--expires",
            expires,
            "--out",
            cred.to_str().expect("utf-8"),
        ]);
        self.client_file(name, &cred)
    }

    /// A token for node `node`'s HTTP analyser, signed with the `analyze` credential at `cred`
    /// (`rampart analyze --token`).
    pub fn analyst_token(&self, node: usize, cred: &Path) -> String {
        let out = rampart_ok(&[
            "analyze",
            "--token",
            "--peer",
            &self.nodes[node].addr,
            "--credential",
            cred.to_str().expect("utf-8"),
        ]);
        out.trim().to_string()
    }

    /// Writes a client file `<name>.toml` for the credential at `cred` (the MS key, every
    /// node as bootstrap peer); returns its path.
    pub fn client_file(&self, name: &str, cred: &Path) -> PathBuf {
        let dir = self.root.path().join("clients");
        let peers: Vec<String> = self.nodes.iter().map(|n| format!("{:?}", n.addr)).collect();
        let file = dir.join(format!("{name}.toml"));
        let text = format!(
            "credential = {:?}\nms_key = {:?}\nbootstrap = [{}]\ntimeout = \"30s\"\n",
            cred.display().to_string(),
            self.admin_dir().join("ms.pub").display().to_string(),
            peers.join(", ")
        );
        std::fs::write(&file, text).expect("write client file");
        file
    }
}
