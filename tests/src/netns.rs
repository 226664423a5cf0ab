//! Hosts in Linux network namespaces for the fault campaign: one namespace per node, joined to
//! a bridge in the root namespace by a veth pair, each with its own address. Faults are made
//! the ways that work on this kernel without `tc netem`: links cut with iptables DROP rules,
//! a share of packets dropped with iptables' `statistic` match, and a link slowed with
//! `tc qdisc ... tbf` (rate and latency). Everything made is removed on drop. Needs root.

use std::net::Ipv4Addr;
use std::process::Command;

/// Why namespaces cannot be used here, if they cannot.
pub fn unavailable() -> Option<String> {
    let euid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if euid != "0" {
        return Some("the fault campaign needs root (network namespaces, iptables, tc)".into());
    }
    for tool in ["ip", "iptables", "tc"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return Some(format!(
                "`{tool}` is missing: run tests/scripts/campaign-deps.sh (iproute2, iptables)"
            ));
        }
    }
    None
}

/// Runs a command; its stderr on failure.
fn run(args: &[&str]) -> Result<(), String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// One namespace.
pub struct Host {
    /// The namespace's name.
    pub ns: String,
    /// Its address on the bridge.
    pub ip: Ipv4Addr,
    veth: String,
}

/// The bridge and its hosts.
pub struct Net {
    bridge: String,
    subnet: (u8, u8),
    /// The hosts, by index.
    pub hosts: Vec<Host>,
}

impl Net {
    /// Makes `n` hosts named after `tag` (a few letters, unique among concurrent runs) on
    /// 10.`a`.`b`.0/24, the root namespace being .1.
    pub fn create(tag: &str, n: usize, subnet: (u8, u8)) -> Result<Net, String> {
        let bridge = format!("{tag}br");
        let (a, b) = subnet;
        let mut net = Net {
            bridge: bridge.clone(),
            subnet,
            hosts: Vec::new(),
        };
        // Leftovers of a run that was killed: start clean.
        let _ = run(&["ip", "link", "del", &bridge]);
        run(&["ip", "link", "add", &bridge, "type", "bridge"])?;
        run(&[
            "ip",
            "addr",
            "add",
            &format!("10.{a}.{b}.1/24"),
            "dev",
            &bridge,
        ])?;
        run(&["ip", "link", "set", &bridge, "up"])?;
        // Bridged frames may pass the root namespace's FORWARD chain (br_netfilter); a host
        // whose policy is DROP (docker sets it) would cut every link.
        let _ = run(&[
            "iptables", "-I", "FORWARD", "-i", &bridge, "-o", &bridge, "-j", "ACCEPT",
        ]);
        for i in 0..n {
            let ns = format!("{tag}{i}");
            let veth = format!("{tag}v{i}");
            let ip = Ipv4Addr::new(10, a, b, 10 + i as u8);
            let _ = run(&["ip", "netns", "del", &ns]);
            run(&["ip", "netns", "add", &ns])?;
            net.hosts.push(Host {
                ns: ns.clone(),
                ip,
                veth: veth.clone(),
            });
            run(&[
                "ip", "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ])?;
            run(&["ip", "link", "set", &veth, "master", &bridge, "up"])?;
            let inside = |args: &[&str]| {
                let mut all = vec!["ip", "netns", "exec", &ns];
                all.extend_from_slice(args);
                run(&all)
            };
            inside(&["ip", "addr", "add", &format!("{ip}/24"), "dev", "eth0"])?;
            inside(&["ip", "link", "set", "eth0", "up"])?;
            inside(&["ip", "link", "set", "lo", "up"])?;
        }
        Ok(net)
    }

    /// The command prefix that runs a program on host `i`.
    pub fn prefix(&self, i: usize) -> Vec<String> {
        vec![
            "ip".into(),
            "netns".into(),
            "exec".into(),
            self.hosts[i].ns.clone(),
        ]
    }

    fn inside(&self, i: usize, args: &[&str]) -> Result<(), String> {
        let mut all = vec!["ip", "netns", "exec", self.hosts[i].ns.as_str()];
        all.extend_from_slice(args);
        run(&all)
    }

    /// Cuts host `i` off from every other host and from the root namespace (clients).
    pub fn isolate(&self, i: usize) -> Result<(), String> {
        let (a, b) = self.subnet;
        let net = format!("10.{a}.{b}.0/24");
        self.inside(i, &["iptables", "-A", "INPUT", "-s", &net, "-j", "DROP"])?;
        self.inside(i, &["iptables", "-A", "OUTPUT", "-d", &net, "-j", "DROP"])
    }

    /// Cuts the link between hosts `i` and `j` (both ways).
    pub fn cut(&self, i: usize, j: usize) -> Result<(), String> {
        let other = self.hosts[j].ip.to_string();
        self.inside(i, &["iptables", "-A", "INPUT", "-s", &other, "-j", "DROP"])?;
        self.inside(i, &["iptables", "-A", "OUTPUT", "-d", &other, "-j", "DROP"])
    }

    /// Drops a share `p` of the packets host `i` receives.
    pub fn lossy(&self, i: usize, p: f64) -> Result<(), String> {
        self.inside(
            i,
            &[
                "iptables",
                "-A",
                "INPUT",
                "-m",
                "statistic",
                "--mode",
                "random",
                "--probability",
                &format!("{p:.3}"),
                "-j",
                "DROP",
            ],
        )
    }

    /// Slows what host `i` sends to `rate_kbit` with up to `latency_ms` of queueing.
    pub fn slow(&self, i: usize, rate_kbit: u32, latency_ms: u32) -> Result<(), String> {
        self.inside(
            i,
            &[
                "tc",
                "qdisc",
                "replace",
                "dev",
                "eth0",
                "root",
                "tbf",
                "rate",
                &format!("{rate_kbit}kbit"),
                "burst",
                "32kbit",
                "latency",
                &format!("{latency_ms}ms"),
            ],
        )
    }

    /// Undoes every fault on host `i`.
    pub fn heal(&self, i: usize) -> Result<(), String> {
        self.inside(i, &["iptables", "-F"])?;
        let _ = self.inside(i, &["tc", "qdisc", "del", "dev", "eth0", "root"]);
        Ok(())
    }

    /// The veth of host `i` in the root namespace (taking it down cuts the host off).
    pub fn veth(&self, i: usize) -> &str {
        &self.hosts[i].veth
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for h in &self.hosts {
            let _ = run(&["ip", "netns", "del", &h.ns]);
            let _ = run(&["ip", "link", "del", &h.veth]);
        }
        let _ = run(&[
            "iptables",
            "-D",
            "FORWARD",
            "-i",
            &self.bridge,
            "-o",
            &self.bridge,
            "-j",
            "ACCEPT",
        ]);
        let _ = run(&["ip", "link", "del", &self.bridge]);
    }
}
