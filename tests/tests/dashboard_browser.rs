//! The node's dashboard in a real headless browser (chromium through chromedriver): the page
//! draws the membership from `/status`, follows a join on its own without being reloaded,
//! draws every member on the ring, says so when the node stops answering, and its screenshots
//! are kept for a person to look at.

use std::time::{Duration, Instant};

use rampart::client::{Client, ClientOptions};
use rampart_tests::cluster::{Cluster, status_of};
use rampart_tests::wait_for;
use rampart_tests::webdriver::{Browser, test_output_dir};
use serde_json::Value;

/// What the page shows now: the header's member count and epoch, the distinct nodes drawn on
/// the ring, the connection indicator, and whether the marker set at load is still there.
const READ_PAGE: &str = r#"
const text = id => { const e = document.getElementById(id); return e ? e.textContent.trim() : null; };
const ring = document.getElementById('ring');
const drawn = ring ? [...new Set([...ring.querySelectorAll('[data-node]')].map(e => e.dataset.node))] : [];
return { members: text('member-count'), epoch: text('epoch'), drawn, conn: text('conn'),
         marker: window.rampartTestMarker === true };
"#;

/// The node's `/status`, fetched over HTTP as the page fetches it.
/// Waits until the page shows `members` members at an epoch `epoch_ok` accepts, with every
/// member of the node's own status drawn on the ring and the last fetch having succeeded.
fn wait_page(
    b: &Browser,
    node_addr: &str,
    members: usize,
    limit: Duration,
    epoch_ok: impl Fn(u64) -> bool,
) -> u64 {
    wait_for(
        &format!("the page to show {members} members"),
        limit,
        || {
            let page = b.execute(READ_PAGE, &[])?;
            // Over libp2p: this node trusts no loopback HTTP request without a token.
            let st = status_of(node_addr)?;
            let epoch = st["epoch"].as_u64().ok_or("no epoch in /status")?;
            let shown_epoch = page["epoch"].as_str().and_then(|e| e.parse::<u64>().ok());
            if page["members"].as_str() != Some(&members.to_string())
                || shown_epoch != Some(epoch)
                || !epoch_ok(epoch)
            {
                return Err(format!("page shows {page}; the node is at epoch {epoch}"));
            }
            let drawn: Vec<&str> = page["drawn"]
                .as_array()
                .map(|d| d.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let ids: Vec<&str> = st["members"]
                .as_array()
                .map(|m| m.iter().filter_map(|m| m["node"].as_str()).collect())
                .unwrap_or_default();
            if let Some(missing) = ids.iter().find(|id| !drawn.contains(id)) {
                return Err(format!("member {missing} is not drawn on the ring: {page}"));
            }
            if !page["conn"].as_str().unwrap_or("").starts_with("updated") {
                return Err(format!("the page's last fetch failed: {page}"));
            }
            Ok(epoch)
        },
    )
}

/// Saves a screenshot as `name` in the test's output directory and checks it is a real PNG.
fn screenshot(b: &Browser, name: &str) {
    let path = test_output_dir("dashboard").join(name);
    let size = b.save_screenshot(&path).expect("screenshot");
    let png = std::fs::read(&path).expect("read the screenshot back");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        path.display()
    );
    assert!(size > 10_000, "{} is only {size} bytes", path.display());
    println!("screenshot: {} ({size} bytes)", path.display());
}

#[test]
fn the_dashboard_follows_a_join_without_a_reload() {
    let started = Instant::now();
    // The browser first: a machine without it fails at once, saying what to install.
    let b = Browser::start(1400, 1800).expect("start headless chromium");
    let mut c = Cluster::genesis(5);
    // Close an epoch a second after a change is queued, so the join shows soon; loopback is
    // not trusted, as behind a proxy, so the page works only with a token.
    c.node_config = "[ms]\nepoch_interval_ms = 1000\n[http]\ntrust_loopback = false\n".into();
    c.start_all();
    let statuses = c.wait_meshed(Duration::from_secs(90));
    let addr = statuses[0]["http"]
        .as_str()
        .expect("node0 reports its HTTP address")
        .to_string();

    // Some traffic, so the store's counters and latencies have something to show.
    let file = c.client("app", "put,get", "1d");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let client = Client::connect(ClientOptions::from_client_file(&file).expect("client file"))
            .await
            .expect("connect");
        for i in 0..20 {
            let key = format!("k{i}");
            client.put(key.as_bytes(), b"value").await.expect("put");
            client.get(key.as_bytes()).await.expect("get");
        }
    });

    b.goto(&format!("http://{addr}/"))
        .expect("open the dashboard");
    wait_for(
        "the page without a token to be refused",
        Duration::from_secs(30),
        || {
            let page = b.execute(READ_PAGE, &[])?;
            match page["conn"].as_str().unwrap_or("") {
                c if c.contains("HTTP 403") => Ok(()),
                c => Err(format!("page says {c:?}")),
            }
        },
    );
    c.client("analyst", "analyze", "1d");
    let analyst = c.root.path().join("clients/analyst.cred");
    let token = c.analyst_token(0, &analyst);
    b.goto(&format!("http://{addr}/#token={token}"))
        .expect("open the dashboard with a token");
    let before = wait_page(&b, &c.nodes[0].addr, 5, Duration::from_secs(60), |_| true);
    // Set once; still there later only if the page was never reloaded.
    b.execute("window.rampartTestMarker = true;", &[])
        .expect("mark the page");
    screenshot(&b, "dashboard-5.png");

    c.join();
    let after = wait_page(&b, &c.nodes[0].addr, 6, Duration::from_secs(120), |e| {
        e > before
    });
    let page = b.execute(READ_PAGE, &[]).expect("read the page");
    assert_eq!(
        page["marker"], true,
        "the page was reloaded instead of updating itself"
    );
    screenshot(&b, "dashboard-6.png");

    // The page keeps what it last saw and says the node stopped answering.
    c.kill(0);
    wait_for(
        "the page to say the connection is lost",
        Duration::from_secs(30),
        || {
            let page = b.execute(READ_PAGE, &[])?;
            let conn = page["conn"].as_str().unwrap_or("");
            if conn.starts_with("connection lost") && page["members"] == "6" {
                Ok(())
            } else {
                Err(format!("page shows {page}"))
            }
        },
    );
    println!(
        "epoch {before} -> {after}; the test took {:.1}s",
        started.elapsed().as_secs_f64()
    );
}
