//! `bench_report`: runs every benchmark (each bench binary beside this one, as a child
//! process with `--json`), then writes `BENCHMARKS.md` from the template in
//! `tests/src/bench_report/template.md` and the plots `bench/clients.png` and
//! `bench/cluster-size.png`.
//!
//! `bash tests/scripts/bench-report.sh` (builds first) or, with the binaries built,
//! `./target/release/bench_report [--quick] [--out docs] [--work target/bench-report]
//! [--only epoch,transfer] [--render-only]`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use clap::Parser;
use rampart_tests::bench_report::machine::{Machine, date_of, git_revision};
use rampart_tests::bench_report::{Build, Outcome, Report, benches, plot};
use rampart_tests::benchutil::unix_now;

/// Runs the benchmarks and writes the report.
#[derive(Parser)]
struct Args {
    /// Every bench in its quick mode (small counts: a few minutes in all), to check the
    /// report; its figures are not the ones to quote.
    #[arg(long)]
    quick: bool,
    /// Where BENCHMARKS.md and bench/*.png go.
    #[arg(long, default_value = "docs")]
    out: PathBuf,
    /// Where each bench's JSON and output go (default target/bench-report, or
    /// target/bench-report-quick with --quick).
    #[arg(long)]
    work: Option<PathBuf>,
    /// Run only these benches (comma-separated names, as in the report's last table); the
    /// others' figures come from their JSON in --work, from an earlier run.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Run nothing: write the report from the JSON in --work.
    #[arg(long)]
    render_only: bool,
    /// Where the bench binaries are (default: beside this one).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
}

fn read_json(path: &Path) -> Option<serde_json::Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn tail(path: &Path, n: usize) -> String {
    let lines: Vec<String> = File::open(path)
        .map(|f| BufReader::new(f).lines().map_while(Result::ok).collect())
        .unwrap_or_default();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn main() -> ExitCode {
    let args = Args::parse();
    let t0 = Instant::now();
    let started = unix_now();
    let work = args.work.clone().unwrap_or_else(|| {
        PathBuf::from(if args.quick {
            "target/bench-report-quick"
        } else {
            "target/bench-report"
        })
    });
    let bin_dir = args.bin_dir.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .expect("own path")
            .parent()
            .expect("own directory")
            .to_path_buf()
    });
    std::fs::create_dir_all(&work).expect("make the work directory");
    let all = benches(args.quick);
    for name in &args.only {
        assert!(
            all.iter().any(|b| b.name == name),
            "--only {name}: no such bench; the benches are {:?}",
            all.iter().map(|b| b.name).collect::<Vec<_>>()
        );
    }
    let machine = Machine::read();
    println!(
        "bench_report{}: {} benches, figures to {}/, output of each bench in {}/",
        if args.quick { " --quick" } else { "" },
        all.len(),
        args.out.display(),
        work.display()
    );
    println!("machine: {}", machine.describe());

    let mut outcomes = BTreeMap::new();
    for (k, b) in all.iter().enumerate() {
        let json = work.join(format!("{}.json", b.name));
        let log = work.join(format!("{}.log", b.name));
        let run =
            !args.render_only && (args.only.is_empty() || args.only.iter().any(|o| o == b.name));
        let line = format!("{} {}", bin_dir.join(b.bin).display(), b.args.join(" "));
        if !run {
            let j = read_json(&json);
            let secs = j
                .as_ref()
                .and_then(|j| j["wall_secs"].as_f64())
                .unwrap_or(0.0);
            println!(
                "[{}/{}] {} not run: {}",
                k + 1,
                all.len(),
                b.name,
                if j.is_some() {
                    "figures from an earlier run"
                } else {
                    "no earlier figures"
                }
            );
            outcomes.insert(
                b.name.to_string(),
                Outcome {
                    failure: j
                        .is_none()
                        .then(|| "not run, and no earlier figures".into()),
                    json: j,
                    secs,
                    log: log.display().to_string(),
                },
            );
            continue;
        }
        println!("[{}/{}] {} ...", k + 1, all.len(), line.trim());
        let _ = std::fs::remove_file(&json);
        let out = File::create(&log).expect("log file");
        let t = Instant::now();
        let status = Command::new(bin_dir.join(b.bin))
            .args(&b.args)
            .arg("--json")
            .arg(&json)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .status();
        let secs = t.elapsed().as_secs_f64();
        let j = read_json(&json);
        let failure = match (&status, &j) {
            (Ok(s), Some(_)) if s.success() => None,
            (Ok(s), _) if !s.success() => Some(format!("the bench failed ({s})")),
            (Ok(_), _) => Some("the bench wrote no JSON".to_string()),
            (Err(e), _) => Some(format!("cannot run {}: {e}", bin_dir.join(b.bin).display())),
        };
        match &failure {
            None => println!("      done in {secs:.0} s"),
            Some(f) => {
                println!("      {f} after {secs:.0} s; the end of its output:");
                println!("{}", tail(&log, 20));
            }
        }
        outcomes.insert(
            b.name.to_string(),
            Outcome {
                json: if failure.is_none() { j } else { None },
                secs,
                failure,
                log: log.display().to_string(),
            },
        );
    }

    let total_secs = if args.render_only || !args.only.is_empty() {
        // The report's figures come (partly) from earlier runs: their time is the sum of the
        // benches' own.
        outcomes.values().map(|o| o.secs).sum()
    } else {
        t0.elapsed().as_secs_f64()
    };
    let date = outcomes
        .values()
        .filter_map(|o| o.json.as_ref()?["started_unix"].as_u64())
        .min()
        .map_or_else(|| date_of(started), date_of);
    let mut report = Report {
        outcomes: &outcomes,
        machine: machine.describe(),
        revision: git_revision(),
        date,
        quick: args.quick,
        total_secs,
        plot_note: None,
        build: Build::of_dir(
            &bin_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
    };
    let font = plot::font();
    let mut notes = report.plots(&args.out.join("bench"));
    if font.is_none() {
        notes.insert(
            0,
            "no TrueType font found (set RAMPART_BENCH_FONT to a .ttf): the plots have no text"
                .into(),
        );
    }
    if !notes.is_empty() {
        report.plot_note = Some(format!("Plots: {}.", notes.join("; ")));
    }
    let text = report.render();
    std::fs::create_dir_all(&args.out).expect("make the output directory");
    let md = args.out.join("BENCHMARKS.md");
    std::fs::write(&md, text).expect("write BENCHMARKS.md");
    println!();
    println!("wrote {}", md.display());
    for p in ["clients.png", "cluster-size.png"] {
        let path = args.out.join("bench").join(p);
        if path.exists() {
            println!("wrote {}", path.display());
        }
    }
    if let Some(f) = font {
        println!("plot text in {}", f.display());
    }
    for n in &notes {
        println!("note: {n}");
    }
    println!("{:.1} min in all", t0.elapsed().as_secs_f64() / 60.0);
    let failed: Vec<&String> = outcomes
        .iter()
        .filter(|(_, o)| o.failure.is_some())
        .map(|(n, _)| n)
        .collect();
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        println!("not produced: {failed:?} (the report says so where their figures would be)");
        ExitCode::FAILURE
    }
}
