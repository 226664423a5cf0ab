//! Helpers for Rampart's integration tests: finding the `rampart` binary, running it, and
//! clusters of real node processes on 127.0.0.1 that are killed when the test ends.
//!
//! Waiting is always on a condition with a deadline ([`wait_for`]); a test never sleeps a
//! fixed time hoping something happened.

pub mod audit;
pub mod bench_report;
pub mod benchutil;
pub mod byzantine;
pub mod campaign;
pub mod churn_sim;
pub mod cluster;
pub mod dbqs_sim;
pub mod flood;
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

/// `GET path` from `addr` over plain HTTP/1.1, with a bearer token if given: the status code
/// and the body.
pub fn http_get(addr: &str, path: &str, token: Option<&str>) -> Result<(u16, String), String> {
    http_request(addr, "GET", path, addr, token)
}

/// `method path` to `addr` over plain HTTP/1.1 with `host` as its Host header, and a bearer
/// token if given: the status code and the body.
pub fn http_request(
    addr: &str,
    method: &str,
    path: &str,
    host: &str,
    token: Option<&str>,
) -> Result<(u16, String), String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).map_err(|e| format!("{addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).map_err(|e| e.to_string())?;
    let (head, body) = raw.split_once("\r\n\r\n").ok_or("no header end")?;
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or("no status code")?;
    Ok((code, body.to_string()))
}

/// The number after `name` among command-line `args`, or `default`.
pub fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
///
/// A port is handed out once per test process: the kernel may give a just-released port
/// again, and two nodes told the same port both listen on it (libp2p sets SO_REUSEPORT), so
/// the pair never connects while the rest of the cluster does.
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let l = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind an ephemeral port");
        let port = l.local_addr().expect("local addr").port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
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
