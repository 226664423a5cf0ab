//! What the report says about the machine and the build: read from the machine, not typed.

use std::process::Command;

/// The machine a report's figures came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    /// CPU model, from `/proc/cpuinfo`.
    pub cpu: String,
    /// Logical CPUs, from `/proc/cpuinfo`.
    pub cpus: usize,
    /// Whether `/proc/cpuinfo` flags a hypervisor.
    pub virtual_machine: bool,
    /// Memory in GiB, from `/proc/meminfo`.
    pub mem_gib: f64,
    /// Kernel name and release (`uname -sr`).
    pub kernel: String,
}

impl Machine {
    /// Reads this machine's description.
    pub fn read() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Machine::parse(&cpuinfo, &meminfo, &kernel())
    }

    /// The description from the text of `/proc/cpuinfo` and `/proc/meminfo` and a kernel.
    pub fn parse(cpuinfo: &str, meminfo: &str, kernel: &str) -> Machine {
        let field = |line: &str, name: &str| {
            let (k, v) = line.split_once(':')?;
            (k.trim() == name).then(|| v.trim().to_string())
        };
        let cpu = cpuinfo
            .lines()
            .find_map(|l| field(l, "model name"))
            .unwrap_or_else(|| "unknown CPU".into());
        let cpus = cpuinfo
            .lines()
            .filter(|l| field(l, "processor").is_some())
            .count()
            .max(1);
        let virtual_machine = cpuinfo
            .lines()
            .filter_map(|l| field(l, "flags"))
            .any(|f| f.split_whitespace().any(|x| x == "hypervisor"));
        let kib: f64 = meminfo
            .lines()
            .find_map(|l| field(l, "MemTotal"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        Machine {
            cpu: cpu.split_whitespace().collect::<Vec<_>>().join(" "),
            cpus,
            virtual_machine,
            mem_gib: kib / (1024.0 * 1024.0),
            kernel: kernel.to_string(),
        }
    }

    /// One line for the report: "2 logical CPUs (AMD EPYC 7B13, virtual machine), 23.5 GiB
    /// of memory, Linux 6.18.0".
    pub fn describe(&self) -> String {
        format!(
            "{} logical CPU{} ({}{}), {:.1} GiB of memory, {}",
            self.cpus,
            if self.cpus == 1 { "" } else { "s" },
            self.cpu,
            if self.virtual_machine {
                ", virtual machine"
            } else {
                ""
            },
            self.mem_gib,
            self.kernel
        )
    }
}

/// `uname -sr`, from `/proc/sys/kernel` (falling back to running `uname`).
fn kernel() -> String {
    let read = |f: &str| {
        std::fs::read_to_string(format!("/proc/sys/kernel/{f}"))
            .ok()
            .map(|s| s.trim().to_string())
    };
    if let (Some(name), Some(release)) = (read("ostype"), read("osrelease")) {
        return format!("{name} {release}");
    }
    Command::new("uname")
        .arg("-sr")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown kernel".into())
}

/// The commit the binaries were built from, as `git` in the current directory tells it:
/// "abc1234" or "abc1234 with uncommitted changes"; `None` outside a repository.
pub fn git_revision() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let rev = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()
        .is_some_and(|o| !o.stdout.is_empty());
    Some(if dirty {
        format!("{rev} with uncommitted changes")
    } else {
        rev
    })
}

/// The UTC date of a Unix time, as YYYY-MM-DD.
pub fn date_of(unix_secs: u64) -> String {
    // Howard Hinnant's days-to-civil.
    let z = (unix_secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        let cpuinfo = "processor\t: 0\nmodel name\t: AMD EPYC  7B13 64-Core Processor\nflags\t\t: fpu hypervisor sse\n\nprocessor\t: 1\nmodel name\t: AMD EPYC  7B13 64-Core Processor\n";
        let meminfo = "MemTotal:       24641536 kB\nMemFree:  1 kB\n";
        let m = Machine::parse(cpuinfo, meminfo, "Linux 6.18.0");
        assert_eq!(m.cpus, 2);
        assert_eq!(m.cpu, "AMD EPYC 7B13 64-Core Processor");
        assert!(m.virtual_machine);
        assert!((m.mem_gib - 23.5).abs() < 0.01, "{}", m.mem_gib);
        assert_eq!(
            m.describe(),
            "2 logical CPUs (AMD EPYC 7B13 64-Core Processor, virtual machine), 23.5 GiB of memory, Linux 6.18.0"
        );
    }

    #[test]
    fn dates() {
        assert_eq!(date_of(0), "1970-01-01");
        assert_eq!(date_of(951_782_400), "2000-02-29");
        assert_eq!(date_of(1_795_658_849), "2026-11-26");
    }
}
