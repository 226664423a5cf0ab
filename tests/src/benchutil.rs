//! What benchmarks measure beside their own figures: this machine's ed25519 and fsync rates,
//! so each figure comes with a bound measured in the same run.

use std::time::{Duration, Instant};

use overlay::crypto::SecretKey;

/// Operations per second of `op`, run for at least `min`.
pub fn rate(mut op: impl FnMut(), min: Duration) -> f64 {
    let t0 = Instant::now();
    let mut n = 0u64;
    while t0.elapsed() < min {
        for _ in 0..64 {
            op();
        }
        n += 64;
    }
    n as f64 / t0.elapsed().as_secs_f64()
}

/// This machine's ed25519 (signs/s, verifies/s) on one core.
pub fn crypto_rates() -> (f64, f64) {
    let key = SecretKey::from_seed(&[7; 32]);
    let msg = [0u8; 200];
    let sig = key.sign_raw(&msg);
    let public = key.public();
    let sign = rate(
        || {
            std::hint::black_box(key.sign_raw(std::hint::black_box(&msg)));
        },
        Duration::from_secs(2),
    );
    let verify = rate(
        || {
            assert!(
                public
                    .verify_strict(std::hint::black_box(&msg), &sig)
                    .is_ok()
            )
        },
        Duration::from_secs(2),
    );
    (sign, verify)
}

/// fsyncs per second on this disk: 4 KiB writes, each followed by `sync_data`.
pub fn fsync_rate() -> f64 {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut f = std::fs::File::create(dir.path().join("f")).expect("temp file");
    let block = [0u8; 4096];
    rate(
        || {
            f.write_all(&block).expect("write");
            f.sync_data().expect("fsync");
        },
        Duration::from_secs(2),
    )
}

/// The command that reproduces this run, as the report quotes it: `./target/<profile>/<bin>` and
/// the arguments, without `--json <file>` (where the figures went is not part of the run).
pub fn command_line() -> String {
    let mut args = std::env::args();
    let bin = args.next().unwrap_or_default();
    let path = std::path::Path::new(&bin);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| bin.clone());
    // `debug` for the test build, `release` for the bench profile.
    let dir = path
        .parent()
        .and_then(|d| d.file_name())
        .map_or("debug".into(), |d| d.to_string_lossy().into_owned());
    let mut out = vec![format!("./target/{dir}/{name}")];
    let mut skip = false;
    for a in args {
        if skip {
            skip = false;
        } else if a == "--json" {
            skip = true;
        } else if !a.starts_with("--json=") {
            out.push(a);
        }
    }
    out.join(" ")
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Writes `value` to `path` as pretty JSON, making its directory; panics if it cannot, since
/// a benchmark whose figures were lost should not look like it succeeded.
pub fn write_json(path: &std::path::Path, value: &serde_json::Value) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).expect("make the JSON file's directory");
    }
    let text = serde_json::to_string_pretty(value).expect("JSON");
    std::fs::write(path, text + "\n")
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// The fields every benchmark's JSON starts with: which bench, the command that reproduces
/// it, when it started, whether writes were durable.
pub fn json_header(bench: &str, durable: Option<bool>) -> serde_json::Value {
    serde_json::json!({
        "bench": bench,
        "command": command_line(),
        "started_unix": unix_now(),
        "durable": durable,
    })
}

/// The `p`-th quantile (0..=1) of sorted durations, in milliseconds (0 when empty).
pub fn quantile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}
