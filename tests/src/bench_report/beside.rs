//! The report's headline: Rampart's data path and ordering beside a 3-member etcd measured in
//! the same run, as ratios against issue 16's targets, each Rampart figure with its ratios to
//! the crypto and fsync bounds of that run.

use serde_json::Value;

/// The build the figures came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// `--profile bench`: every crate optimised, binaries in `target/release/`.
    Bench,
    /// The tests' `dev` profile, binaries in `target/debug/`.
    Dev,
}

impl Build {
    /// The build whose binaries sit in a directory of this name.
    pub fn of_dir(name: &str) -> Build {
        if name == "debug" {
            Build::Dev
        } else {
            Build::Bench
        }
    }

    /// What the report says about it.
    pub fn describe(self) -> &'static str {
        match self {
            Build::Bench => {
                "the `bench` profile (release optimisation for every crate, the workspace's \
                 own included, with line tables so that `perf` can name functions); binaries \
                 in `target/release/`."
            }
            Build::Dev => {
                "the `dev` profile the tests use (dependencies at `opt-level = 3`, the \
                 workspace crates at `opt-level = 1`): **not the bench build**, so the \
                 workspace's own code runs slower than in a report to quote."
            }
        }
    }

    /// The command that builds every binary the report runs.
    pub fn command(self) -> &'static str {
        match self {
            Build::Bench => {
                "cargo build --locked --profile bench -p rampart -p rampart-tests --bins"
            }
            Build::Dev => "cargo build --locked -p rampart -p rampart-tests --bins",
        }
    }
}

/// The row of `rows` for `op` at `clients` (and 1 KiB, where rows carry a size).
fn find<'a>(j: Option<&'a Value>, op: &str, clients: u64) -> Option<&'a Value> {
    j?["rows"].as_array()?.iter().find(|r| {
        r["op"] == op
            && r["clients"].as_u64() == Some(clients)
            && r["value_bytes"].as_u64().is_none_or(|b| b == 1024)
            && r.get("error").is_none()
    })
}

fn num(r: Option<&Value>, k: &str) -> Option<f64> {
    r?[k].as_f64()
}

fn cell(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".into(), |x| format!("{x:.digits$}"))
}

/// The fastest durable ordering row (the largest batch and client count usually).
fn best_pbft(pbft: Option<&Value>) -> Option<&Value> {
    pbft?["rows"]
        .as_array()?
        .iter()
        .filter(|r| r.get("error").is_none())
        .max_by(|a, b| {
            let (x, y) = (num(Some(a), "ops_per_s"), num(Some(b), "ops_per_s"));
            x.unwrap_or(0.0).total_cmp(&y.unwrap_or(0.0))
        })
}

/// The side-by-side table, or why it cannot be drawn.
pub fn section(etcd: Option<&Value>, dbqs: Option<&Value>, pbft: Option<&Value>) -> String {
    if etcd.is_none() {
        return "*etcd was not measured in this run (see `etcd` in the last table), so there \
                are no ratios to show.*\n"
            .into();
    }
    let mut s = String::from(
        "| op | clients | etcd ops/s | etcd p50 ms | Rampart ops/s | Rampart p50 ms | Rampart ÷ etcd | target | Rampart ÷ crypto | Rampart ÷ fsync |\n\
         |---|---:|---:|---:|---:|---:|---:|---|---:|---:|\n",
    );
    for (op, clients, etcd_op) in [
        ("put", 1, "put"),
        ("put", 50, "put"),
        ("get", 1, "get"),
        ("get", 50, "get"),
    ] {
        let e = find(etcd, etcd_op, clients);
        let r = find(dbqs, op, clients);
        let ratio = num(r, "ops_per_s")
            .zip(num(e, "ops_per_s"))
            .map(|(a, b)| a / b);
        let target = match (op, clients) {
            ("put", 1) => {
                let p50 = num(r, "p50_ms").zip(num(e, "p50_ms"));
                match p50 {
                    Some((a, b)) if a <= b => "p50 ≤ etcd's: met".to_string(),
                    Some((a, b)) => format!("p50 ≤ etcd's: missed ({:.1}x)", a / b),
                    None => "p50 ≤ etcd's".into(),
                }
            }
            (_, 50) => met("≥ 1.0x", ratio, 1.0),
            _ => String::new(),
        };
        s.push_str(&format!(
            "| dBQS {op} | {clients} | {} | {} | {} | {} | {} | {target} | {} | {} |\n",
            cell(num(e, "ops_per_s"), 0),
            cell(num(e, "p50_ms"), 2),
            cell(num(r, "ops_per_s"), 0),
            cell(num(r, "p50_ms"), 2),
            cell(ratio, 2),
            cell(num(r, "crypto_ratio"), 2),
            cell(num(r, "fsync_ratio"), 2),
        ));
    }
    let e = find(etcd, "put", 50);
    let p = best_pbft(pbft);
    let ratio = num(p, "ops_per_s")
        .zip(num(e, "ops_per_s"))
        .map(|(a, b)| a / b);
    s.push_str(&format!(
        "| PBFT null op (batch_max {}, {} clients) against etcd put | 50 | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        p.map_or("-".into(), |p| p["batch_max"].to_string()),
        p.map_or("-".into(), |p| p["clients"].to_string()),
        cell(num(e, "ops_per_s"), 0),
        cell(num(e, "p50_ms"), 2),
        cell(num(p, "ops_per_s"), 0),
        cell(num(p, "p50_ms"), 2),
        cell(ratio, 2),
        met("≥ 1.05x", ratio, 1.05),
        cell(num(p, "crypto_ratio"), 2),
        cell(num(p, "fsync_ratio"), 2),
    ));
    s
}

fn met(target: &str, ratio: Option<f64>, at: f64) -> String {
    match ratio {
        Some(r) if r >= at => format!("{target}: met"),
        Some(_) => format!("{target}: missed"),
        None => target.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ratios_and_targets_come_from_the_matching_rows() {
        let etcd = json!({"rows": [
            {"op": "put", "clients": 1, "ops_per_s": 500.0, "p50_ms": 2.0},
            {"op": "put", "clients": 50, "ops_per_s": 4000.0, "p50_ms": 12.0},
        ]});
        let dbqs = json!({"rows": [
            {"op": "put", "clients": 50, "value_bytes": 65536, "ops_per_s": 9.0},
            {"op": "put", "clients": 50, "value_bytes": 1024, "ops_per_s": 2000.0},
            {"op": "put", "clients": 1, "value_bytes": 1024, "ops_per_s": 250.0, "p50_ms": 4.0},
        ]});
        let pbft = json!({"rows": [
            {"batch_max": 1, "clients": 64, "ops_per_s": 100.0},
            {"batch_max": 64, "clients": 64, "ops_per_s": 4400.0},
        ]});
        let s = section(Some(&etcd), Some(&dbqs), Some(&pbft));
        assert!(
            s.contains("| dBQS put | 50 | 4000 | 12.00 | 2000 | - | 0.50 | ≥ 1.0x: missed |"),
            "{s}"
        );
        assert!(s.contains("p50 ≤ etcd's: missed (2.0x)"), "{s}");
        assert!(s.contains("batch_max 64, 64 clients"), "{s}");
        assert!(s.contains("| 1.10 | ≥ 1.05x: met |"), "{s}");
    }

    #[test]
    fn without_etcd_the_section_says_so() {
        assert!(section(None, None, None).contains("not measured"));
    }
}
