//! `campaign`: the fault campaign on real processes, for as long as asked. The scripted faults
//! first (as in CI), then random ones (kill and restart, isolation, a slow and lossy link, a
//! full disk; one node at a time) until `--minutes` have passed; then the checks. Needs root.
//!
//! `bash tests/scripts/campaign.sh --minutes 120 --seed 7` (installs iproute2 and iptables).

use std::time::{Duration, Instant};

use rampart::byzantine::Behaviour;
use rampart_tests::arg;
use rampart_tests::campaign::{self, Plan};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "campaign [--minutes 30] [--seed 1] [--nodes 7] [--byzantine none|<behaviour>[,<behaviour>...]]\n  one node lies throughout (equivocate, stale, forge, silent, invent, rollback, slow;\n  by default the lies cycle with the seed);\n  runs the scripted faults, then random faults for --minutes (bounded: it stops by itself),\n  then checks that every acknowledged write reads back, the history is linearizable and every\n  live node agrees on the epoch. Needs root."
        );
        return;
    }
    let seed = arg(&args, "--seed", 1);
    let liars: [&[Behaviour]; 6] = [
        &[],
        &[Behaviour::Equivocate],
        &[Behaviour::Stale],
        &[Behaviour::Forge],
        &[Behaviour::Silent],
        &[
            Behaviour::Equivocate,
            Behaviour::Rollback,
            Behaviour::Invent,
            Behaviour::Slow,
        ],
    ];
    let liar: Vec<Behaviour> = match args
        .iter()
        .position(|a| a == "--byzantine")
        .and_then(|i| args.get(i + 1))
    {
        Some(name) if name == "none" => Vec::new(),
        Some(names) => match names
            .split(',')
            .map(|n| <Behaviour as clap::ValueEnum>::from_str(n, true))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(b) => b,
            Err(e) => {
                eprintln!("--byzantine {names}: {e}");
                std::process::exit(2);
            }
        },
        None => liars[(seed % liars.len() as u64) as usize].to_vec(),
    };
    let plan = Plan {
        nodes: arg(&args, "--nodes", 7).max(7) as usize,
        random_for: Duration::from_secs(arg(&args, "--minutes", 30) * 60),
        seed,
        liar: liar.clone(),
        ..Plan::short()
    };
    println!("campaign: seed {seed}, liar {liar:?}");
    let started = Instant::now();
    match campaign::run(&plan) {
        Ok(r) => {
            println!(
                "campaign passed in {:.0} s: {} faults injected, {} operations checked ({} writes and {} reads acknowledged, {} unknown), {} writes lost, final epoch {}",
                started.elapsed().as_secs_f64(),
                r.faults,
                r.verdict.checked,
                r.counts.writes_ok,
                r.counts.reads_ok,
                r.counts.unknown,
                r.verdict.lost,
                r.epoch
            );
            for (why, n) in &r.errors {
                println!("  {n:>6} operations ended with: {why}");
            }
            println!(
                "  audit: {} replica copies, {} behind; revoked: {:?}; correct nodes evicted: {:?}",
                r.audit.checked,
                r.audit.behind.len(),
                r.revoked,
                r.evicted
            );
            let problems = r.problems();
            if !problems.is_empty() {
                eprintln!("campaign FAILED its checks: {problems:#?}");
                std::process::exit(1);
            }
        }
        Err(e) => {
            eprintln!(
                "campaign FAILED after {:.0} s: {e}",
                started.elapsed().as_secs_f64()
            );
            std::process::exit(1);
        }
    }
}
