//! A small W3C WebDriver client for tests that look at pages in a real headless browser:
//! Debian's `chromedriver` driving `chromium`, spoken to over plain HTTP/1.1 with JSON.
//!
//! Only what the tests use: a session, navigation, running a script, screenshots.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::{free_port, wait_for};

/// Where Debian's `chromium-driver` package puts chromedriver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Where Debian's `chromium` package puts the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// One HTTP/1.1 request to `addr` (`host:port`) with an optional JSON body; the status code
/// and the body.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
    timeout: Duration,
) -> Result<(u16, Vec<u8>), String> {
    let mut s = TcpStream::connect(addr).map_err(|e| format!("{addr}: {e}"))?;
    s.set_read_timeout(Some(timeout))
        .and_then(|()| s.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())
        .and_then(|()| s.write_all(body.as_bytes()))
        .map_err(|e| format!("{method} {path}: {e}"))?;
    // chromedriver keeps the connection open despite `Connection: close`, so the response
    // ends where its headers say, not where the stream does.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    while parse(&raw, false).is_none() {
        let n = s
            .read(&mut buf)
            .map_err(|e| format!("{method} {path}: {e}"))?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    parse(&raw, true).ok_or_else(|| format!("{method} {path}: the response ended early"))
}

/// The status code and body of a whole response in `raw`, or `None` while it is incomplete;
/// at the end of the stream (`eof`) a body of no announced length is what came.
fn parse(raw: &[u8], eof: bool) -> Option<(u16, Vec<u8>)> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    let body = &raw[end + 4..];
    if let Some(len) = header(&head, "content-length").and_then(|v| v.parse::<usize>().ok()) {
        return Some((code, body.get(..len)?.to_vec()));
    }
    if header(&head, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        return Some((code, unchunk(body)?));
    }
    eof.then(|| (code, body.to_vec()))
}

/// A header's value in a lower-cased header block (`name:value`, with or without a space).
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (n, v) = l.split_once(':')?;
        (n.trim() == name).then(|| v.trim())
    })
}

/// A `Transfer-Encoding: chunked` body, joined; `None` until its last chunk has come.
fn unchunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line = b.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&b[..line]).ok()?.split(';').next()?;
        let size = usize::from_str_radix(size.trim(), 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(line + 2..line + 2 + size)?);
        b = b.get(line + 4 + size..)?;
    }
}

/// Standard base64 (with or without padding), as WebDriver returns screenshots.
pub fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(format!("not base64: {:?}", c as char)),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

/// A chromedriver process with one headless chromium session; both end on drop.
pub struct Browser {
    driver: Child,
    addr: String,
    session: String,
    /// The browser profile and chromedriver's log; removed on drop.
    dir: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless chromium session with a fresh
    /// profile and a `width`x`height` window. Panics, saying what to install, when
    /// chromedriver is missing.
    pub fn start(width: u32, height: u32) -> Result<Browser, String> {
        assert!(
            Path::new(CHROMEDRIVER).is_file() && Path::new(CHROMIUM).is_file(),
            "{CHROMEDRIVER} or {CHROMIUM} is missing: run `bash tests/scripts/browser-deps.sh` \
             (it installs Debian's chromium and chromium-driver packages; CI runs it)"
        );
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.path().join("chromedriver.log"))
            .map_err(|e| e.to_string())?;
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("start {CHROMEDRIVER}: {e}"))?;
        // From here on, drop ends chromedriver whatever fails; the session is filled in below.
        let mut b = Browser {
            driver,
            addr: format!("127.0.0.1:{port}"),
            session: String::new(),
            dir,
        };
        wait_for("chromedriver to be ready", Duration::from_secs(30), || {
            if let Ok(Some(exit)) = b.driver.try_wait() {
                return Ok(Err(format!("chromedriver exited ({exit}): {}", b.log())));
            }
            let v = b.call("GET", "/status", None, Duration::from_secs(5))?;
            if v["ready"] == true {
                Ok(Ok(()))
            } else {
                Err(format!("not ready: {v}"))
            }
        })?;
        let profile = b.dir.path().join("profile");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    format!("--user-data-dir={}", profile.display()),
                    format!("--window-size={width},{height}"),
                ],
            },
        }}});
        // A cold chromium start on a busy two-core machine takes a while.
        let v = b
            .call("POST", "/session", Some(&caps), Duration::from_secs(120))
            .map_err(|e| format!("{e}\nchromedriver log:\n{}", b.log()))?;
        b.session = v["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no session id in {v}"))?
            .to_string();
        Ok(b)
    }

    /// The last lines of chromedriver's log, for failure messages.
    pub fn log(&self) -> String {
        let log =
            std::fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// A WebDriver command; its `value`, or the error WebDriver reported.
    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<Value, String> {
        let (code, body) = http(&self.addr, method, path, body, timeout)?;
        let v: Value = serde_json::from_slice(&body).map_err(|e| {
            format!(
                "{method} {path}: {code}, not JSON ({e}): {}",
                String::from_utf8_lossy(&body)
            )
        })?;
        let value = v.get("value").cloned().unwrap_or(Value::Null);
        if code != 200 {
            return Err(format!(
                "{method} {path}: {code} {}: {}",
                value["error"], value["message"]
            ));
        }
        Ok(value)
    }

    /// A command on this session.
    fn session_call(
        &self,
        method: &str,
        what: &str,
        body: Option<&Value>,
    ) -> Result<Value, String> {
        let path = format!("/session/{}/{what}", self.session);
        self.call(method, &path, body, Duration::from_secs(60))
    }

    /// Navigates to `url` and waits for the page to load.
    pub fn goto(&self, url: &str) -> Result<(), String> {
        self.session_call("POST", "url", Some(&json!({ "url": url })))
            .map(drop)
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page and returns what
    /// it returns.
    pub fn execute(&self, script: &str, args: &[Value]) -> Result<Value, String> {
        self.session_call(
            "POST",
            "execute/sync",
            Some(&json!({ "script": script, "args": args })),
        )
    }

    /// A PNG of the window.
    pub fn screenshot(&self) -> Result<Vec<u8>, String> {
        let v = self.session_call("GET", "screenshot", None)?;
        base64_decode(
            v.as_str()
                .ok_or_else(|| format!("screenshot is not text: {v}"))?,
        )
    }

    /// Saves a screenshot at `path`, creating its directory; returns the PNG's size.
    pub fn save_screenshot(&self, path: &Path) -> Result<usize, String> {
        let png = self.screenshot()?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(path, &png).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(png.len())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session makes chromedriver close chromium and its helper processes;
        // killing chromedriver alone would leave them running.
        if !self.session.is_empty() {
            let path = format!("/session/{}", self.session);
            let _ = self.call("DELETE", &path, None, Duration::from_secs(20));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `target/test-output/<name>` beside the test binary (`target/<profile>/deps/<test>`).
pub fn test_output_dir(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("the test binary sits in target/<profile>/deps");
    target.join("test-output").join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGk").unwrap(), b"hi");
        assert_eq!(base64_decode("+/8=").unwrap(), [0xfb, 0xff]);
        assert!(base64_decode("a*b").is_err());
    }

    #[test]
    fn responses_end_where_their_headers_say() {
        let sized = b"HTTP/1.1 200 OK\r\nContent-Length:2\r\n\r\n{}";
        assert_eq!(parse(sized, false), Some((200, b"{}".to_vec())));
        assert_eq!(parse(&sized[..sized.len() - 1], false), None);
        let chunked =
            b"HTTP/1.1 404 No\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n1\r\nd\r\n0\r\n\r\n";
        assert_eq!(parse(chunked, false), Some((404, b"abcd".to_vec())));
        assert_eq!(parse(&chunked[..chunked.len() - 7], false), None);
        let unannounced = b"HTTP/1.1 200 OK\r\n\r\nrest";
        assert_eq!(parse(unannounced, false), None);
        assert_eq!(parse(unannounced, true), Some((200, b"rest".to_vec())));
    }
}
