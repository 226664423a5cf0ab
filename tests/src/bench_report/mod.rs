//! The benchmark report (`bench_report`): which benches it runs, and how their JSON becomes
//! `docs/BENCHMARKS.md` and the plots in `docs/bench/`. The prose lives in `template.md`
//! beside this file; `{{name}}` placeholders in it are filled from the run.

pub mod beside;
pub mod machine;
pub mod plot;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

pub use self::beside::Build;
use self::plot::{Panel, Series, XAxis};
use plotters::style::RGBColor;

/// The report's prose, with placeholders.
pub const TEMPLATE: &str = include_str!("template.md");

/// One benchmark run of the report.
#[derive(Debug, Clone)]
pub struct Bench {
    /// Its name in the report and the name of its JSON file.
    pub name: &'static str,
    /// The binary, beside `bench_report`.
    pub bin: &'static str,
    /// Its arguments.
    pub args: Vec<String>,
}

/// Client count of the cluster-size plot and table.
pub const SIZE_CLIENTS: usize = 8;

/// The node counts of the cluster-size sweep besides 4 (the 4-node figures are the durable
/// run's).
pub const SIZE_NODES: [usize; 2] = [7, 10];

/// What the report runs, in order; `quick` for the small trial.
pub fn benches(quick: bool) -> Vec<Bench> {
    let a = |s: &str| -> Vec<String> { s.split_whitespace().map(str::to_string).collect() };
    let q = if quick { " --quick" } else { "" };
    let mut v = vec![
        Bench {
            name: "pbft_durable",
            bin: "bench_pbft",
            args: a(q),
        },
        Bench {
            name: "pbft_nosync",
            bin: "bench_pbft",
            args: a(&format!("--no-sync{q}")),
        },
        Bench {
            name: "ms_scale",
            bin: "bench_ms_scale",
            args: if quick {
                a("--quick")
            } else {
                a("--members 100000 --epochs 3")
            },
        },
        Bench {
            name: "dbqs_durable",
            bin: "bench_dbqs",
            args: a(&format!(
                "--clients {}{q}",
                if quick { "1,8,50" } else { "1,2,4,8,16,32,50" }
            )),
        },
        Bench {
            name: "etcd",
            bin: "bench_etcd",
            args: a(&format!("--clients 1,50{q}")),
        },
        Bench {
            name: "dbqs_nosync",
            bin: "bench_dbqs",
            args: a(&format!("--no-sync{q}")),
        },
    ];
    for nodes in SIZE_NODES {
        let clients = if quick {
            SIZE_CLIENTS.to_string()
        } else {
            format!("1,{SIZE_CLIENTS},32")
        };
        v.push(Bench {
            name: if nodes == 7 {
                "dbqs_nodes7"
            } else {
                "dbqs_nodes10"
            },
            bin: "bench_dbqs",
            args: a(&format!("--nodes {nodes} --clients {clients} --sizes 1{q}")),
        });
    }
    v.push(Bench {
        name: "transfer",
        bin: "bench_transfer",
        args: a(q),
    });
    v.push(Bench {
        name: "epoch",
        bin: "bench_epoch",
        args: a(q),
    });
    v.push(Bench {
        name: "flood",
        bin: "bench_flood",
        args: a(q),
    });
    v
}

/// How one bench of the run went.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Its JSON, if it finished and wrote it.
    pub json: Option<Value>,
    /// Seconds it ran (in this run, or in the run its JSON came from).
    pub secs: f64,
    /// Why it is missing, if it is.
    pub failure: Option<String>,
    /// Where its output went.
    pub log: String,
}

/// Everything the report is made from.
pub struct Report<'a> {
    /// Each bench's outcome, by name.
    pub outcomes: &'a BTreeMap<String, Outcome>,
    /// `Machine::describe`.
    pub machine: String,
    /// The commit, if known.
    pub revision: Option<String>,
    /// The run's date, YYYY-MM-DD.
    pub date: String,
    /// A quick (trial) run.
    pub quick: bool,
    /// Wall time of the whole run, seconds.
    pub total_secs: f64,
    /// How the plots went: `None` if drawn with text, else why not as asked.
    pub plot_note: Option<String>,
    /// The build the benches ran from.
    pub build: Build,
}

/// `1234567.8` as "1,234,568".
pub fn thousands(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let neg = v < 0.0;
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if neg { format!("-{out}") } else { out }
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn fmt(v: &Value, digits: usize) -> String {
    match v.as_f64() {
        Some(x) => format!("{x:.digits$}"),
        None => "-".into(),
    }
}

fn secs_text(s: f64) -> String {
    if s >= 90.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{s:.0} s")
    }
}

impl Report<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        self.outcomes.get(name).and_then(|o| o.json.as_ref())
    }

    fn missing(&self, name: &str) -> String {
        match self.outcomes.get(name) {
            Some(o) => format!(
                "*Not produced in this run: {} (its output: `{}`).*",
                o.failure.as_deref().unwrap_or("no JSON"),
                o.log
            ),
            None => "*Not produced: this bench was not run.*".into(),
        }
    }

    fn command(&self, name: &str, fallback: &str) -> String {
        self.get(name)
            .and_then(|j| j["command"].as_str())
            .unwrap_or(fallback)
            .to_string()
    }

    /// The whole report: the template with every placeholder filled.
    pub fn render(&self) -> String {
        let mut vars: BTreeMap<&str, String> = BTreeMap::new();
        vars.insert("run_note", self.run_note());
        vars.insert("machine", self.machine.clone());
        vars.insert("reading_note", self.reading_note());
        vars.insert("build", self.build.describe().into());
        vars.insert("build_command", self.build.command().into());
        vars.insert(
            "etcd_command",
            self.command("etcd", "./target/release/bench_etcd --clients 1,50"),
        );
        vars.insert(
            "beside",
            beside::section(
                self.get("etcd"),
                self.get("dbqs_durable"),
                self.get("pbft_durable"),
            ),
        );
        self.pbft_vars(&mut vars);
        self.ms_vars(&mut vars);
        self.dbqs_vars(&mut vars);
        self.transfer_vars(&mut vars);
        self.epoch_vars(&mut vars);
        vars.insert(
            "flood_command",
            self.command("flood", "./target/release/bench_flood"),
        );
        vars.insert(
            "flood_results",
            match self.get("flood").and_then(|j| j["rows"].as_array()) {
                Some(rows) => crate::flood::trial::table(rows),
                None => self.missing("flood"),
            },
        );
        vars.insert("runs", self.runs_table());
        fill(TEMPLATE, &vars)
    }

    fn run_note(&self) -> String {
        let rev = self
            .revision
            .as_ref()
            .map_or(String::new(), |r| format!(", commit {r}"));
        let mut s = format!(
            "Run of {}{rev}: every bench below in one run of {}.",
            self.date,
            secs_text(self.total_secs)
        );
        if self.quick {
            s.push_str(
                "\n\n**This is a quick run** (`--quick`: small counts and grids, to check the \
                 generator): its figures are not the ones to quote.",
            );
        }
        s
    }

    fn reading_note(&self) -> String {
        "*This reading was written from the run of 2026-11-25; the figures above are \
         regenerated with every run, so the numbers quoted here are that run's.*"
            .into()
    }

    fn pbft_vars(&self, vars: &mut BTreeMap<&'static str, String>) {
        vars.insert(
            "pbft_command_durable",
            self.command("pbft_durable", "./target/release/bench_pbft"),
        );
        vars.insert(
            "pbft_command_nosync",
            self.command("pbft_nosync", "./target/release/bench_pbft --no-sync"),
        );
        for (key, name) in [
            ("pbft_durable", "pbft_durable"),
            ("pbft_nosync", "pbft_nosync"),
        ] {
            let text = match self.get(name) {
                Some(j) => pbft_section(j),
                None => self.missing(name),
            };
            vars.insert(key, text);
        }
    }

    fn ms_vars(&self, vars: &mut BTreeMap<&'static str, String>) {
        let j = self.get("ms_scale");
        vars.insert(
            "ms_command",
            self.command(
                "ms_scale",
                "./target/release/bench_ms_scale --members 100000 --epochs 3",
            ),
        );
        let p = j.map(|j| &j["params"]);
        let members = p.map_or(100_000.0, |p| f(&p["members"]));
        let epochs = p.map_or(3.0, |p| f(&p["epochs"]));
        let churn = p.map_or(1000.0, |p| f(&p["churn_per_epoch"]));
        vars.insert("ms_members", thousands(members));
        vars.insert(
            "ms_epochs",
            match epochs as u64 {
                1 => "one epoch".into(),
                2 => "two epochs".into(),
                3 => "three epochs".into(),
                n => format!("{n} epochs"),
            },
        );
        vars.insert("ms_half_churn", thousands((churn / 2.0).floor()));
        vars.insert(
            "ms_sha",
            j.map_or("-".into(), |j| {
                format!("{:.1} M/s", f(&j["machine"]["sha256_per_s"]) / 1e6)
            }),
        );
        vars.insert(
            "ms_results",
            match j {
                Some(j) => ms_section(j, &self.date),
                None => self.missing("ms_scale"),
            },
        );
    }

    fn dbqs_vars(&self, vars: &mut BTreeMap<&'static str, String>) {
        vars.insert(
            "dbqs_command_durable",
            self.command("dbqs_durable", "./target/release/bench_dbqs"),
        );
        vars.insert(
            "dbqs_command_nosync",
            self.command("dbqs_nosync", "./target/release/bench_dbqs --no-sync"),
        );
        let nodes_cmds: Vec<String> = ["dbqs_nodes7", "dbqs_nodes10"]
            .iter()
            .map(|n| self.command(n, "./target/release/bench_dbqs --nodes N"))
            .collect();
        vars.insert("dbqs_command_nodes", nodes_cmds.join("\n"));
        let ops = self
            .get("dbqs_durable")
            .map_or(1600.0, |j| f(&j["params"]["ops_per_row"]));
        vars.insert("dbqs_ops", thousands(ops));
        for name in ["dbqs_durable", "dbqs_nosync"] {
            let text = match self.get(name) {
                Some(j) => dbqs_section(j),
                None => self.missing(name),
            };
            vars.insert(name, text);
        }
        vars.insert("dbqs_size_clients", SIZE_CLIENTS.to_string());
        vars.insert("dbqs_nodes", self.nodes_table());
        vars.insert(
            "plot_note",
            self.plot_note
                .as_ref()
                .map_or(String::new(), |n| format!("\n\n*{n}*")),
        );
    }

    /// Rows of every cluster size: the durable run's 1 KiB rows (4 nodes) and the size runs.
    fn size_runs(&self) -> Vec<(u64, &Value)> {
        let mut v: Vec<(u64, &Value)> = Vec::new();
        for name in ["dbqs_durable", "dbqs_nodes7", "dbqs_nodes10"] {
            if let Some(j) = self.get(name) {
                v.push((j["params"]["nodes"].as_u64().unwrap_or(4), j));
            }
        }
        v.sort_by_key(|x| x.0);
        v
    }

    fn nodes_table(&self) -> String {
        let runs = self.size_runs();
        // The (size, clients) pairs the size runs measured.
        let mut wanted: Vec<(u64, u64)> = Vec::new();
        for (n, j) in &runs {
            if *n == 4 {
                continue;
            }
            for r in j["rows"].as_array().into_iter().flatten() {
                let k = (
                    r["value_bytes"].as_u64().unwrap_or(0),
                    r["clients"].as_u64().unwrap_or(0),
                );
                if !wanted.contains(&k) {
                    wanted.push(k);
                }
            }
        }
        if wanted.is_empty() {
            let mut s = String::new();
            for name in ["dbqs_nodes7", "dbqs_nodes10"] {
                if self.get(name).is_none() {
                    s.push_str(&self.missing(name));
                    s.push('\n');
                }
            }
            return s;
        }
        let mut s = String::from(
            "| nodes | op | value | clients | ops | ops/s | p50 ms | p99 ms | crypto bound | ÷ crypto | fsync bound | ÷ fsync |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for &(size, clients) in &wanted {
            for op in ["put", "get"] {
                for (n, j) in &runs {
                    for r in j["rows"].as_array().into_iter().flatten() {
                        if r["op"] == op
                            && r["value_bytes"].as_u64() == Some(size)
                            && r["clients"].as_u64() == Some(clients)
                        {
                            s.push_str(&format!(
                                "| {n} | {op} | {} KiB | {clients} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                                size / 1024,
                                fmt(&r["ops"], 0),
                                fmt(&r["ops_per_s"], 0),
                                fmt(&r["p50_ms"], 2),
                                fmt(&r["p99_ms"], 2),
                                fmt(&r["crypto_bound"], 0),
                                fmt(&r["crypto_ratio"], 2),
                                fmt(&r["fsync_bound"], 0),
                                fmt(&r["fsync_ratio"], 2),
                            ));
                        }
                    }
                }
            }
        }
        for name in ["dbqs_nodes7", "dbqs_nodes10"] {
            if self.get(name).is_none() {
                s.push('\n');
                s.push_str(&self.missing(name));
                s.push('\n');
            }
        }
        s
    }

    fn transfer_vars(&self, vars: &mut BTreeMap<&'static str, String>) {
        let j = self.get("transfer");
        vars.insert(
            "transfer_command",
            self.command("transfer", "./target/release/bench_transfer"),
        );
        let mib = j.map_or(1024.0, |j| f(&j["params"]["mib"]));
        vars.insert(
            "transfer_size",
            if mib >= 1024.0 && (mib % 1024.0) == 0.0 {
                format!("{} GiB", mib / 1024.0)
            } else {
                format!("{mib} MiB")
            },
        );
        vars.insert("transfer_objects", thousands(mib));
        vars.insert("transfer_stored", thousands(2.0 * mib));
        vars.insert(
            "transfer_results",
            match j {
                Some(j) => transfer_section(j, &self.date),
                None => self.missing("transfer"),
            },
        );
    }

    fn epoch_vars(&self, vars: &mut BTreeMap<&'static str, String>) {
        let j = self.get("epoch");
        vars.insert(
            "epoch_command",
            self.command("epoch", "./target/release/bench_epoch"),
        );
        let p = j.map(|j| &j["params"]);
        vars.insert(
            "epoch_interval",
            p.map_or("1000".into(), |p| fmt(&p["epoch_interval_ms"], 0)),
        );
        vars.insert(
            "epoch_round",
            j.map_or("-".into(), |j| {
                format!(
                    "{} ms (p50 of {} single requests; p99 {} ms)",
                    fmt(&j["machine"]["ordering_round_p50_ms"], 1),
                    fmt(&j["machine"]["ordering_rounds_timed"], 0),
                    fmt(&j["machine"]["ordering_round_p99_ms"], 1)
                )
            }),
        );
        vars.insert(
            "epoch_bound",
            j.map_or("-".into(), |j| {
                format!("{} ms", fmt(&j["change_bound_ms"], 0))
            }),
        );
        vars.insert(
            "epoch_results",
            match j {
                Some(j) => epoch_section(j, &self.date),
                None => self.missing("epoch"),
            },
        );
    }

    fn runs_table(&self) -> String {
        let mut s = String::from("| bench | command | wall time | result |\n|---|---|---:|---|\n");
        for b in benches(self.quick) {
            let Some(o) = self.outcomes.get(b.name) else {
                continue;
            };
            let cmd = o
                .json
                .as_ref()
                .and_then(|j| j["command"].as_str())
                .map(str::to_string)
                .unwrap_or_else(|| format!("./target/release/{} {}", b.bin, b.args.join(" ")));
            s.push_str(&format!(
                "| {} | `{}` | {} | {} |\n",
                b.name,
                cmd.trim(),
                secs_text(o.secs),
                o.failure.as_deref().unwrap_or("ok")
            ));
        }
        s
    }

    /// Draws `clients.png` and `cluster-size.png` into `dir`; returns a note for each plot
    /// that could not be drawn.
    pub fn plots(&self, dir: &Path) -> Vec<String> {
        let mut notes = Vec::new();
        let sub = format!(
            "{}; durable (WAL fsync on); run of {}{}",
            self.machine,
            self.date,
            if self.quick { " (quick run)" } else { "" }
        );
        match self.get("dbqs_durable") {
            Some(j) => {
                let (x, panels) = clients_plot(j);
                let title = format!(
                    "dBQS put and get against concurrent clients: {} nodes, f = 1",
                    j["params"]["nodes"]
                );
                if let Err(e) =
                    plot::two_panels(&dir.join("clients.png"), &title, &sub, &x, &panels)
                {
                    notes.push(format!("clients.png: {e}"));
                }
            }
            None => notes.push("clients.png: no durable dBQS run".into()),
        }
        let runs = self.size_runs();
        if runs.len() >= 2 {
            let (x, panels) = size_plot(&runs);
            let title = format!(
                "dBQS put and get against cluster size: {SIZE_CLIENTS} clients, 1 KiB values, groups of 4 (f = 1)"
            );
            if let Err(e) =
                plot::two_panels(&dir.join("cluster-size.png"), &title, &sub, &x, &panels)
            {
                notes.push(format!("cluster-size.png: {e}"));
            }
        } else {
            notes.push("cluster-size.png: fewer than two cluster sizes measured".into());
        }
        notes
    }
}

/// Replaces every `{{name}}` in `template` with `vars[name]`; a name without a value stays
/// as it is (and is easy to spot in the output).
pub fn fill(template: &str, vars: &BTreeMap<&str, String>) -> String {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        match after.find("}}") {
            Some(j) if vars.contains_key(after[..j].trim()) => {
                out.push_str(&vars[after[..j].trim()]);
                rest = &after[j + 2..];
            }
            _ => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn pbft_section(j: &Value) -> String {
    let m = &j["machine"];
    let durable = j["durable"] == true;
    let mut s = if durable {
        format!(
            "ed25519 on this machine (one core): {} signs/s, {} verifies/s; disk: {} fsyncs/s.\n\n",
            thousands(f(&m["signs_per_s"])),
            thousands(f(&m["verifies_per_s"])),
            thousands(f(&m["fsyncs_per_s"]))
        )
    } else {
        format!(
            "ed25519 in this run: {} signs/s, {} verifies/s; disk not used for the bound.\n\n",
            thousands(f(&m["signs_per_s"])),
            thousands(f(&m["verifies_per_s"]))
        )
    };
    s.push_str("| batch_max | clients | requests | ops/s | p50 ms | p99 ms | crypto bound | ops/s ÷ crypto |");
    if durable {
        s.push_str(
            " fsync bound | ops/s ÷ fsync |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
    } else {
        s.push_str("\n|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    }
    for r in j["rows"].as_array().into_iter().flatten() {
        if let Some(e) = r["error"].as_str() {
            s.push_str(&format!(
                "| {} | {} | - | failed: {e} | | | | |\n",
                r["batch_max"], r["clients"]
            ));
            continue;
        }
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r["batch_max"],
            r["clients"],
            r["requests"],
            fmt(&r["ops_per_s"], 0),
            fmt(&r["p50_ms"], 2),
            fmt(&r["p99_ms"], 2),
            fmt(&r["crypto_bound"], 0),
            fmt(&r["crypto_ratio"], 2)
        ));
        if durable {
            s.push_str(&format!(
                " {} | {} |",
                fmt(&r["fsync_bound"], 0),
                fmt(&r["fsync_ratio"], 2)
            ));
        }
        s.push('\n');
    }
    s
}

fn ms_section(j: &Value, date: &str) -> String {
    let mut s = format!(
        "Run of {date} ({:.0} s of wall time):\n\n",
        f(&j["wall_secs"])
    );
    s.push_str(&format!(
        "- configuration: {} bytes encoded ({:.0} B/member), {:.0} B/member in memory;\n",
        thousands(f(&j["config_bytes"])),
        f(&j["config_bytes_per_member"]),
        f(&j["memory_bytes_per_member"])
    ));
    s.push_str(&format!(
        "- ring: {} B/member, built in {:.0} ms ({:.2} M positions/s = {:.2} of the SHA-256 rate);\n\n",
        thousands(f(&j["ring_bytes_per_member"])),
        f(&j["ring_build_ms"]),
        f(&j["ring_positions_per_s"]) / 1e6,
        f(&j["ring_sha_ratio"])
    ));
    s.push_str("| epoch | joins | leaves | delta bytes | next config ms | delta apply ms | ring rebuild ms | ring diff ms | arcs moved | handover ms |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in j["rows"].as_array().into_iter().flatten() {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r["epoch"],
            thousands(f(&r["joins"])),
            thousands(f(&r["leaves"])),
            thousands(f(&r["delta_bytes"])),
            thousands(f(&r["next_config_ms"])),
            thousands(f(&r["delta_apply_ms"])),
            thousands(f(&r["ring_rebuild_ms"])),
            thousands(f(&r["ring_diff_ms"])),
            thousands(f(&r["arcs_moved"])),
            thousands(f(&r["handover_ms"]))
        ));
    }
    s
}

fn dbqs_section(j: &Value) -> String {
    let m = &j["machine"];
    let durable = j["durable"] == true;
    let mut s = format!(
        "ed25519 on this machine (one core): {} signs/s, {} verifies/s; disk: {} fsyncs/s; WAL fsync {}\n\n",
        thousands(f(&m["signs_per_s"])),
        thousands(f(&m["verifies_per_s"])),
        thousands(f(&m["fsyncs_per_s"])),
        if durable { "on" } else { "off" }
    );
    s.push_str("| op | value | clients | ops | ops/s | MB/s | p50 ms | p99 ms | crypto bound | ÷ crypto | writes/fsync | fsync bound | ÷ fsync |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in j["rows"].as_array().into_iter().flatten() {
        s.push_str(&format!(
            "| {} | {} KiB | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r["op"].as_str().unwrap_or("?"),
            r["value_bytes"].as_u64().unwrap_or(0) / 1024,
            r["clients"],
            r["ops"],
            fmt(&r["ops_per_s"], 0),
            fmt(&r["mb_per_s"], 2),
            fmt(&r["p50_ms"], 2),
            fmt(&r["p99_ms"], 2),
            fmt(&r["crypto_bound"], 0),
            fmt(&r["crypto_ratio"], 2),
            fmt(&r["writes_per_batch"], 1),
            fmt(&r["fsync_bound"], 0),
            fmt(&r["fsync_ratio"], 2)
        ));
    }
    s
}

fn transfer_section(j: &Value, date: &str) -> String {
    let durable = j["durable"] == true;
    let mut s = format!(
        "Run of {date}, {}:\n\n",
        if durable {
            "durable (WAL fsync on every write)"
        } else {
            "NOT durable (`--no-sync`: WAL fsync off)"
        }
    );
    s.push_str("| moved to the new node | time, epoch to every range transferred | MB/s | objects/s | rocksdb write rate (same run) | loopback copy (same run) |\n|---|---:|---:|---:|---:|---:|\n");
    s.push_str(&format!(
        "| {} MB in {} objects | {:.1} s | {:.0} | {:.0} | {} MB/s: transfer at {:.0}% | {} MB/s: transfer at {:.1}% |\n\n",
        thousands(f(&j["moved_bytes"]) / 1e6),
        thousands(f(&j["moved_objects"])),
        f(&j["transfer_secs"]),
        f(&j["mb_per_s"]),
        f(&j["objects_per_s"]),
        thousands(f(&j["machine"]["rocksdb_mb_per_s"])),
        100.0 * f(&j["rocksdb_ratio"]),
        thousands(f(&j["machine"]["loopback_mb_per_s"])),
        100.0 * f(&j["loopback_ratio"])
    ));
    s.push_str(&format!(
        "The node joined {:.1} s after it was started (admission relayed to the MS, ordered, next \
         epoch closed after `epoch_interval_ms = {}`, certified, adopted). Loading the cluster \
         through the client library took {:.0} s ({:.0} MB/s at {} writes in flight: each write \
         is a read, a signed version and a manifest, stored at four replicas on two cores).",
        f(&j["join_to_member_secs"]),
        j["params"]["epoch_interval_ms"],
        f(&j["load_secs"]),
        f(&j["load_mb_per_s"]),
        j["params"]["load_in_flight"]
    ));
    s
}

fn epoch_section(j: &Value, date: &str) -> String {
    let durable = j["durable"] == true;
    let mut s = format!(
        "Run of {date}, {}, `[ms] epoch_interval_ms = {}`:\n\n",
        if durable {
            "durable (WAL fsync on every write)"
        } else {
            "NOT durable (`--no-sync`)"
        },
        j["params"]["epoch_interval_ms"]
    );
    s.push_str("| join | case | MS waits for | new epoch | members | epoch age at submission ms | submit ms | every old member ms | every node ms (raw) | raw − interval ms | bound ms | raw ÷ bound |\n|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let rows: Vec<&Value> = j["rows"].as_array().into_iter().flatten().collect();
    for r in &rows {
        let fresh = r["case"] == "fresh";
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r["join"],
            r["case"].as_str().unwrap_or("?"),
            if fresh {
                "the rest of the interval"
            } else {
                "nothing"
            },
            r["epoch"],
            r["members"],
            fmt(&r["epoch_age_ms"], 0),
            fmt(&r["submit_ms"], 0),
            fmt(&r["old_members_ms"], 0),
            fmt(&r["raw_ms"], 0),
            fmt(&r["raw_minus_interval_ms"], 0),
            fmt(&r["bound_ms"], 0),
            fmt(&r["ratio"], 2)
        ));
    }
    let summary = |case: &str, key: &str| {
        let mut v: Vec<f64> = rows
            .iter()
            .filter(|r| r["case"] == case)
            .filter_map(|r| r[key].as_f64())
            .collect();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return None;
        }
        Some(format!(
            "median {:.0} ms ({:.0} to {:.0} ms over {} join{})",
            v[v.len() / 2],
            v[0],
            v[v.len() - 1],
            v.len(),
            if v.len() == 1 { "" } else { "s" }
        ))
    };
    s.push('\n');
    if let Some(a) = summary("aged", "raw_ms") {
        s.push_str(&format!(
            "- aged (the MS closes the epoch at once): every node in the new epoch after a {a};\n"
        ));
    }
    if let Some(b) = summary("fresh", "raw_ms") {
        let minus = summary("fresh", "raw_minus_interval_ms").unwrap_or_default();
        s.push_str(&format!(
            "- fresh (the MS waits for the interval): {b}; less the interval, {minus}.\n"
        ));
    }
    s
}

const PUT_COLOR: RGBColor = RGBColor(31, 100, 190);
const GET_COLOR: RGBColor = RGBColor(214, 80, 30);
const PUT_LIGHT: RGBColor = RGBColor(120, 170, 230);
const GET_LIGHT: RGBColor = RGBColor(240, 160, 90);

fn clients_plot(j: &Value) -> (XAxis, Vec<Panel>) {
    let rows: Vec<&Value> = j["rows"].as_array().into_iter().flatten().collect();
    let mut sizes: Vec<u64> = rows
        .iter()
        .filter_map(|r| r["value_bytes"].as_u64())
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    let mut clients: Vec<f64> = rows.iter().filter_map(|r| r["clients"].as_f64()).collect();
    clients.sort_by(f64::total_cmp);
    clients.dedup();
    let series = |key: &str| -> Vec<Series> {
        let mut v = Vec::new();
        for (k, &size) in sizes.iter().enumerate() {
            for op in ["put", "get"] {
                let color = match (op, k) {
                    ("put", 0) => PUT_COLOR,
                    ("put", _) => PUT_LIGHT,
                    (_, 0) => GET_COLOR,
                    _ => GET_LIGHT,
                };
                v.push(Series {
                    label: format!("{op}, {} KiB values", size / 1024),
                    color,
                    triangles: k > 0,
                    points: rows
                        .iter()
                        .filter(|r| r["op"] == op && r["value_bytes"].as_u64() == Some(size))
                        .map(|r| (f(&r["clients"]), f(&r[key])))
                        .collect(),
                });
            }
        }
        v
    };
    let x = XAxis {
        label: "concurrent clients (one operation in flight each)".into(),
        ticks: clients,
        log2: true,
    };
    (x, throughput_and_p99(series))
}

/// The two panels both plots have: ops/s and p99 latency, from `series(key)`.
fn throughput_and_p99(series: impl Fn(&str) -> Vec<Series>) -> Vec<Panel> {
    vec![
        Panel {
            title: "Throughput".into(),
            y_label: "operations per second".into(),
            log_y: false,
            series: series("ops_per_s"),
        },
        Panel {
            title: "99th percentile latency".into(),
            y_label: "p99 latency, ms (log scale)".into(),
            log_y: true,
            series: series("p99_ms"),
        },
    ]
}

fn size_plot(runs: &[(u64, &Value)]) -> (XAxis, Vec<Panel>) {
    let pick = |op: &str, key: &str| -> Vec<(f64, f64)> {
        runs.iter()
            .filter_map(|(n, j)| {
                j["rows"]
                    .as_array()?
                    .iter()
                    .find(|r| {
                        r["op"] == op
                            && r["value_bytes"].as_u64() == Some(1024)
                            && r["clients"].as_u64() == Some(SIZE_CLIENTS as u64)
                    })
                    .map(|r| (*n as f64, f(&r[key])))
            })
            .collect()
    };
    let series = |key: &str| {
        vec![
            Series {
                label: "put".into(),
                color: PUT_COLOR,
                triangles: false,
                points: pick("put", key),
            },
            Series {
                label: "get".into(),
                color: GET_COLOR,
                triangles: false,
                points: pick("get", key),
            },
        ]
    };
    let x = XAxis {
        label: "node processes (on the same two cores)".into(),
        ticks: runs.iter().map(|(n, _)| *n as f64).collect(),
        log2: false,
    };
    (x, throughput_and_p99(series))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(6_000_807.0), "6,000,807");
        assert_eq!(thousands(-12_345.0), "-12,345");
    }

    #[test]
    fn fill_replaces_known_names_only() {
        let mut vars = BTreeMap::new();
        vars.insert("a", "1".to_string());
        assert_eq!(fill("x {{a}} y {{ b }} {{a", &vars), "x 1 y {{ b }} {{a");
    }

    #[test]
    fn every_placeholder_of_the_template_is_filled() {
        let outcomes = BTreeMap::new();
        let r = Report {
            outcomes: &outcomes,
            machine: "m".into(),
            revision: None,
            date: "2026-01-01".into(),
            quick: true,
            total_secs: 1.0,
            plot_note: None,
            build: Build::Dev,
        };
        let text = r.render();
        assert!(!text.contains("{{"), "unfilled placeholder in:\n{text}");
    }
}
