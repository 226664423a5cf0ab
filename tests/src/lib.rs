//! Helpers for Rampart's integration tests: finding the `rampart` binary, running it, and
//! clusters of real node processes on 127.0.0.1 that are killed when the test ends.
//!
//! Waiting is always on a condition with a deadline ([`wait_for`]); a test never sleeps a
//! fixed time hoping something happened.

pub mod benchutil;
pub mod byzantine;
pub mod campaign;
pub mod churn_sim;
pub mod cluster;
pub mod dbqs_sim;
pub mod ms_pbft;
pub mod ms_sim;
pub mod netns;
pub mod pbft_sim;
pub mod sim;
pub mod webdriver;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The `rampart` binary: `$RAMPART_BIN`, else the one cargo built for the same profile.
pub fn rampart_bin() -> PathBuf {
    if let Ok(p) = std::env::var("RAMPART_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test binary path");
    // A bench binary sits beside `rampart`; a test binary one level down, in `deps/`.
    let candidates = exe.ancestors().skip(1).take(2).map(|d| d.join("rampart"));
    let found = candidates.clone().find(|p| p.is_file());
    found.unwrap_or_else(|| {
        let tried: Vec<String> = candidates.map(|p| p.display().to_string()).collect();
        panic!("the rampart binary is not at {tried:?}: run `cargo build --workspace --all-targets` first (the README's test command does), or set RAMPART_BIN")
    })
}

/// Runs `rampart args...` to completion.
pub fn rampart(args: &[&str]) -> Output {
    Command::new(rampart_bin())
        .args(args)
        .output()
        .expect("rampart runs")
}

/// Runs `rampart args...`, asserts success, returns stdout.
pub fn rampart_ok(args: &[&str]) -> String {
    let out = rampart(args);
    assert!(
        out.status.success(),
        "rampart {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `rampart args...`, asserts a clean failure (non-zero exit, no panic), returns stderr.
pub fn rampart_fails(args: &[&str]) -> String {
    let out = rampart(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "rampart {args:?} should have failed; stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "rampart {args:?} exited oddly: {stderr}"
    );
    assert!(
        !stderr.contains("panicked"),
        "rampart {args:?} panicked: {stderr}"
    );
    stderr
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// Polls `check` until it returns `Ok`, or panics with its last error after `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        match check() {
            Ok(v) => return v,
            Err(e) if Instant::now() >= deadline => {
                panic!(
                    "timed out after {}s waiting for {what}: {e}",
                    limit.as_secs()
                )
            }
            // Poll interval of a deadline-bounded wait, not a guess at how long things take.
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}
