//! The faults the campaign injects into real processes in their namespaces, and the record of
//! what was injected when.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::cluster::Cluster;
use crate::netns::Net;

/// One thing the scheduler does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// kill -9 node i.
    Kill(usize),
    /// Start node i again (same data).
    Restart(usize),
    /// Cut node i off from every other host and the clients.
    Isolate(usize),
    /// Slow node i's link (tbf) and drop a tenth of what it receives.
    Degrade(usize),
    /// Undo the network faults on node i.
    Heal(usize),
    /// Fill node i's disk (its data directory is a small tmpfs).
    FillDisk(usize),
    /// Free node i's disk.
    FreeDisk(usize),
    /// Admit a new node, and kill -9 it while it fetches its ranges; restart it.
    JoinAndRestartMidTransfer,
}

impl Fault {
    /// Whether it is a fault (rather than a repair).
    pub fn is_fault(self) -> bool {
        !matches!(
            self,
            Fault::Restart(_) | Fault::Heal(_) | Fault::FreeDisk(_)
        )
    }
}

/// A node's data directory on a tmpfs of its own, so that its disk can fill up.
pub struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    /// Mounts a tmpfs of `mib` MiB at `dir`.
    pub fn mount(dir: &Path, mib: u64) -> Result<SmallDisk, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Err(format!("cannot mount a tmpfs at {}", dir.display()));
        }
        Ok(SmallDisk {
            dir: dir.to_path_buf(),
        })
    }

    fn filler(&self) -> PathBuf {
        self.dir.join("campaign-fill")
    }

    /// Writes zeros until the disk is full.
    pub fn fill(&self) -> Result<u64, String> {
        let out = Command::new("dd")
            .args(["if=/dev/zero", "bs=1M"])
            .arg(format!("of={}", self.filler().display()))
            .output()
            .map_err(|e| format!("dd: {e}"))?;
        // dd stops with "No space left on device": that is the point.
        let err = String::from_utf8_lossy(&out.stderr);
        if !err.contains("No space left") {
            return Err(format!("the disk did not fill: {err}"));
        }
        Ok(std::fs::metadata(self.filler()).map_or(0, |m| m.len()))
    }

    /// Removes the filler.
    pub fn free(&self) {
        let _ = std::fs::remove_file(self.filler());
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// What was injected, when (seconds since the load began).
#[derive(Debug, Default)]
pub struct Log {
    /// The entries.
    pub entries: Vec<(f64, String)>,
    /// Faults injected (repairs not counted).
    pub injected: u64,
}

impl Log {
    /// Records `what` at `since`.
    pub fn note(&mut self, since: Instant, what: String) {
        let t = since.elapsed().as_secs_f64();
        println!("campaign {t:>7.1}s  {what}");
        self.entries.push((t, what));
    }
}

/// Injects `f`.
pub fn inject(
    f: Fault,
    c: &mut Cluster,
    net: &Net,
    disk: Option<&SmallDisk>,
    log: &mut Log,
    since: Instant,
) -> Result<(), String> {
    if f.is_fault() {
        log.injected += 1;
    }
    match f {
        Fault::Kill(i) => c.kill(i),
        Fault::Restart(i) => {
            if c.nodes[i].proc.is_none() {
                c.start(i)
            }
        }
        Fault::Isolate(i) => net.isolate(i)?,
        Fault::Degrade(i) => {
            net.slow(i, 512, 200)?;
            net.lossy(i, 0.1)?;
        }
        Fault::Heal(i) => net.heal(i)?,
        Fault::FillDisk(_) => {
            let n = disk.ok_or("no small disk")?.fill()?;
            log.note(
                since,
                format!("  the disk is full ({} MiB written)", n >> 20),
            );
        }
        Fault::FreeDisk(_) => disk.ok_or("no small disk")?.free(),
        Fault::JoinAndRestartMidTransfer => return join_and_restart(c, net, log, since),
    }
    log.note(since, format!("{f:?}"));
    Ok(())
}

/// Admits a node on the spare host, kills it once its status shows ranges still to fetch (or
/// after 20 s), and restarts it.
fn join_and_restart(
    c: &mut Cluster,
    net: &Net,
    log: &mut Log,
    since: Instant,
) -> Result<(), String> {
    let host = c.nodes.len();
    let ip = net
        .hosts
        .get(host)
        .ok_or("no spare host for the joining node")?
        .ip;
    let i = c.join_at(format!("/ip4/{ip}/tcp/7700"), net.prefix(host));
    log.note(since, format!("Join(node{i})"));
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut pending = 0;
    while Instant::now() < deadline {
        if let Ok(s) = c.status(i) {
            pending = s["store"]["transfer"]["pending_ranges"]
                .as_u64()
                .unwrap_or(0);
            let member = s["members"]
                .as_array()
                .is_some_and(|m| m.iter().any(|x| x["node"] == s["node"]));
            if member && pending > 0 {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    c.kill(i);
    log.note(
        since,
        format!("Kill(node{i}) during its state transfer ({pending} ranges pending)"),
    );
    std::thread::sleep(Duration::from_secs(2));
    c.start(i);
    log.note(since, format!("Restart(node{i})"));
    Ok(())
}
