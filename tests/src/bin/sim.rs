//! `sim`: runs many seeds of a protocol simulation and prints a summary. For soaks longer
//! than CI runs: `cargo run -p rampart-tests --bin sim -- --n 4 --seeds 10000` (PBFT), or
//! `... --bin sim -- --ms --epochs 5 --seeds 2000` (the membership service over ideal
//! ordering), or `... --bin sim -- --ms-pbft --seeds 2000` (the membership service inside the
//! PBFT simulator), or `... --bin sim -- --churn --seeds 500` (dBQS with reconfiguration).

use std::time::Instant;

use rampart_tests::arg;
use rampart_tests::pbft_sim::{self, Params};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "sim [--n 4] [--f (n-1)/3] [--seeds 100] [--start 0]\n  runs PBFT simulation seeds start..start+seeds and prints failures and a summary\nsim --ms [--epochs 3] [--seeds 100] [--start 0]\n  runs membership-service simulation seeds\nsim --ms-pbft [--seeds 100] [--start 0]\n  runs seeds of the membership service inside the PBFT simulator\nsim --dbqs [--seeds 100] [--start 0]\n  runs dBQS seeds, each history checked for linearizability\nsim --churn [--seeds 100] [--start 0] [--show]\n  runs dBQS seeds under membership churn and state transfer"
        );
        return;
    }
    if args.iter().any(|a| a == "--churn") {
        return churn(&args);
    }
    if args.iter().any(|a| a == "--dbqs") {
        return dbqs(&args);
    }
    if args.iter().any(|a| a == "--ms-pbft") {
        return ms_pbft(&args);
    }
    if args.iter().any(|a| a == "--ms") {
        return ms(&args);
    }
    let n = arg(&args, "--n", 4) as usize;
    let f = arg(&args, "--f", ((n - 1) / 3) as u64) as usize;
    let seeds = arg(&args, "--seeds", 100);
    let start = arg(&args, "--start", 0);
    if args.iter().any(|a| a == "--show") {
        println!("{:#?}", Params::draw(start, n, f));
    }
    let t0 = Instant::now();
    let (mut ok, mut failed) = (0u64, Vec::new());
    let (mut steps, mut views, mut executed) = (0u64, 0u64, 0usize);
    for seed in start..start + seeds {
        match pbft_sim::run(seed, Params::draw(seed, n, f)) {
            Ok(o) => {
                ok += 1;
                steps += o.steps;
                views += o.max_view;
                executed += o.executed;
            }
            Err(e) => {
                println!("seed {seed}: {e}");
                failed.push(seed);
            }
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "pbft n={n} f={f}: {ok} passed, {} failed in {secs:.1}s ({:.1} ms/seed); mean steps {}, mean max view {:.2}, mean requests {}",
        failed.len(),
        1000.0 * secs / seeds.max(1) as f64,
        steps / ok.max(1),
        views as f64 / ok.max(1) as f64,
        executed / ok.max(1) as usize
    );
    if !failed.is_empty() {
        println!(
            "failed seeds: {failed:?}  (replay one: PBFT_SEED=<seed> PBFT_N={n} cargo test -p rampart-tests --test pbft_sim replay -- --nocapture)"
        );
        std::process::exit(1);
    }
}

fn ms(args: &[String]) {
    let epochs = arg(args, "--epochs", 3);
    let seeds = arg(args, "--seeds", 100);
    let start = arg(args, "--start", 0);
    let t0 = Instant::now();
    let (mut ok, mut failed, mut ops, mut faults) = (0u64, Vec::new(), 0u64, 0usize);
    for seed in start..start + seeds {
        match rampart_tests::ms_sim::run(seed, epochs) {
            Ok(o) => {
                ok += 1;
                ops += o.ops;
                faults += o.faults.len();
            }
            Err(e) => {
                println!("{e}");
                failed.push(seed);
            }
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "ms epochs={epochs}: {ok} passed, {} failed in {secs:.1}s ({:.1} ms/seed); {ops} operations, {faults} Byzantine epochs",
        failed.len(),
        1000.0 * secs / seeds.max(1) as f64
    );
    if !failed.is_empty() {
        println!(
            "failed seeds: {failed:?}  (replay one: MS_SEED=<seed> MS_TRACE=1 cargo test -p rampart-tests --test ms_sim replay -- --nocapture)"
        );
        std::process::exit(1);
    }
}

fn ms_pbft(args: &[String]) {
    use rampart_tests::ms_pbft;
    let seeds = arg(args, "--seeds", 100);
    let start = arg(args, "--start", 0);
    let t0 = Instant::now();
    let (mut ok, mut failed) = (0u64, Vec::new());
    let (mut epochs, mut executed, mut excluded, mut byzantine) = (0u64, 0u64, 0u64, 0u64);
    for seed in start..start + seeds {
        let p = ms_pbft::Params::draw(seed);
        match ms_pbft::run(seed, p) {
            Ok(o) => {
                ok += 1;
                epochs += o.epochs;
                executed += o.executed;
                excluded += o.excluded;
                byzantine += u64::from(o.byzantine.is_some());
            }
            Err(e) => {
                println!("seed {seed}: {e}");
                failed.push(seed);
            }
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "ms-pbft: {ok} passed, {} failed in {secs:.1}s ({:.1} ms/seed); {epochs} epochs certified, {executed} operations executed by correct replicas, {byzantine} runs with a Byzantine node, {excluded} bad signature shares excluded",
        failed.len(),
        1000.0 * secs / seeds.max(1) as f64
    );
    if !failed.is_empty() {
        println!(
            "failed seeds: {failed:?}  (replay one: MS_PBFT_SEED=<seed> SIM_TRACE=1 cargo test -p rampart-tests --test ms_pbft -- --exact replay --nocapture)"
        );
        std::process::exit(1);
    }
}

fn dbqs(args: &[String]) {
    use rampart_tests::dbqs_sim;
    let seeds = arg(args, "--seeds", 100);
    let start = arg(args, "--start", 0);
    let t0 = Instant::now();
    let (mut ok, mut failed, mut ops, mut crashed) = (0u64, Vec::new(), 0usize, 0usize);
    let mut content_reads = 0usize;
    for seed in start..start + seeds {
        match dbqs_sim::run(seed, dbqs_sim::Params::draw(seed)) {
            Ok(o) => {
                ok += 1;
                ops += o.ops;
                crashed += o.crashed_writers;
                content_reads += o.content_reads;
            }
            Err(e) => {
                println!("seed {seed}: {e}");
                failed.push(seed);
            }
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "dbqs: {ok} passed, {} failed in {secs:.1}s ({:.2} ms/seed); {ops} operations checked ({content_reads} content reads), {crashed} writers crashed mid-write",
        failed.len(),
        1000.0 * secs / seeds.max(1) as f64
    );
    if !failed.is_empty() {
        println!(
            "failed seeds: {failed:?}  (replay one: DBQS_SEED=<seed> cargo test -p rampart-tests --test dbqs_sim -- --exact replay --nocapture)"
        );
        std::process::exit(1);
    }
}

fn churn(args: &[String]) {
    use rampart_tests::churn_sim::{self, Params, Stats};
    let seeds = arg(args, "--seeds", 100);
    let start = arg(args, "--start", 0);
    if args.iter().any(|a| a == "--show") {
        println!("{:#?}", Params::draw(start));
    }
    let t0 = Instant::now();
    let (mut ok, mut failed) = (0u64, Vec::new());
    let mut sum = Stats::default();
    let mut slowest = (0.0f64, 0u64);
    for seed in start..start + seeds {
        let t = Instant::now();
        let result = churn_sim::run(seed, Params::draw(seed));
        let secs = t.elapsed().as_secs_f64();
        if secs > slowest.0 {
            slowest = (secs, seed);
        }
        match result {
            Ok(s) => {
                ok += 1;
                sum.epochs += s.epochs;
                sum.joins += s.joins;
                sum.removals += s.removals;
                sum.evictions += s.evictions;
                sum.crashes += s.crashes;
                sum.skips += s.skips;
                sum.ops += s.ops;
                sum.restarts += s.restarts;
                sum.transferred += s.transferred;
                sum.ranges_moved += s.ranges_moved;
                sum.deletes += s.deletes;
                sum.kept_for_liar += s.kept_for_liar;
                sum.fetches_kept_for_liar += s.fetches_kept_for_liar;
                sum.timeouts += s.timeouts;
                sum.slow_answers += s.slow_answers;
                sum.fetch_audits += s.fetch_audits;
                sum.sim_ms += s.sim_ms;
            }
            Err(e) => {
                println!("seed {seed}: {e}");
                failed.push(seed);
            }
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let per = |x: u64| x as f64 / ok.max(1) as f64;
    println!(
        "churn: {ok} passed, {} failed in {secs:.1}s ({:.0} ms/seed, slowest seed {} at {:.2}s)",
        failed.len(),
        1000.0 * secs / seeds.max(1) as f64,
        slowest.1,
        slowest.0
    );
    println!(
        "  per passing run: {:.1} epochs, {:.1} joins, {:.1} removals, {:.1} evictions, {:.1} crashes, {:.1} epoch skips, {:.0} operations checked ({:.0} restarts, {:.1} given up after a timeout), {:.0} objects transferred in {:.0} ranges, {:.0} ranges deleted; kept because a Byzantine owner never confirms: {:.1} objects, {:.2} past fetches; {:.0} late answers from the slow holder; {:.0} objects audited at new replicas when their fetch finished; {:.0} s simulated",
        per(sum.epochs),
        per(sum.joins as u64),
        per(sum.removals as u64),
        per(sum.evictions as u64),
        per(sum.crashes as u64),
        per(sum.skips as u64),
        per(sum.ops as u64),
        per(sum.restarts as u64),
        per(sum.timeouts as u64),
        per(sum.transferred),
        per(sum.ranges_moved as u64),
        per(sum.deletes as u64),
        per(sum.kept_for_liar as u64),
        per(sum.fetches_kept_for_liar as u64),
        per(sum.slow_answers as u64),
        per(sum.fetch_audits as u64),
        per(sum.sim_ms) / 1000.0
    );
    if !failed.is_empty() {
        println!(
            "failed seeds: {failed:?}  (replay one: CHURN_SEED=<seed> cargo test -p rampart-tests --test churn_sim -- --exact replay --nocapture)"
        );
        std::process::exit(1);
    }
}
