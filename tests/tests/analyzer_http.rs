//! The node analyser over HTTP (issue 7): every node serves `/status` (JSON) and
//! `/metrics` (Prometheus text) on 127.0.0.1; the metrics parse with a Prometheus parser and
//! their counters move when operations run.

use std::time::Duration;

use rampart::client::{Client, ClientOptions};
use rampart_tests::cluster::Cluster;
use rampart_tests::wait_for;

fn get(addr: &str, path: &str) -> Result<(u16, String), String> {
    rampart_tests::http_get(addr, path, None)
}

fn scrape(addr: &str) -> prometheus_parse::Scrape {
    let (code, body) = get(addr, "/metrics").expect("GET /metrics");
    assert_eq!(code, 200, "{body}");
    prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).expect("parses")
}

fn value(s: &prometheus_parse::Scrape, name: &str) -> f64 {
    let sample = s
        .samples
        .iter()
        .find(|x| x.metric == name)
        .unwrap_or_else(|| panic!("{name} missing"));
    match sample.value {
        prometheus_parse::Value::Counter(v)
        | prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Untyped(v) => v,
        ref other => panic!("{name}: unexpected {other:?}"),
    }
}

#[test]
fn every_node_serves_status_and_metrics_that_move() {
    let mut c = Cluster::genesis(4);
    c.start_all();
    let statuses = c.wait_meshed(Duration::from_secs(90));
    let http = statuses[0]["http"]
        .as_str()
        .expect("node0 reports its HTTP address")
        .to_string();
    assert!(http.starts_with("127.0.0.1:"), "{http}");

    let (code, body) = get(&http, "/status").expect("GET /status");
    assert_eq!(code, 200);
    let json: serde_json::Value = serde_json::from_str(&body).expect("status is JSON");
    assert_eq!(json["members"].as_array().map(Vec::len), Some(4));
    assert_eq!(json["node"], statuses[0]["node"]);
    assert_eq!(get(&http, "/nothing").expect("GET").0, 404);

    let before = scrape(&http);
    assert_eq!(value(&before, "rampart_members"), 4.0);
    assert_eq!(value(&before, "rampart_epoch"), 0.0);
    let served = value(&before, "rampart_store_served_total");

    let file = c.client("app", "put,get", "1d");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let client = rt
        .block_on(Client::connect(
            ClientOptions::from_client_file(&file).expect("client file"),
        ))
        .expect("connect");
    for i in 0..20 {
        rt.block_on(client.put(format!("m{i}").as_bytes(), b"v"))
            .expect("put");
    }
    wait_for("the store counters move", Duration::from_secs(30), || {
        let after = scrape(&http);
        let now = value(&after, "rampart_store_served_total");
        if now >= served + 20.0 {
            Ok(())
        } else {
            Err(format!("served {served} -> {now}"))
        }
    });
    // Every write a replica served is timed: the write histogram's +Inf bucket counts them.
    let after = scrape(&http);
    let writes = after
        .samples
        .iter()
        .find(|x| {
            x.metric == "rampart_store_latency_seconds" && x.labels.get("op") == Some("write")
        })
        .expect("the write latency histogram");
    match &writes.value {
        prometheus_parse::Value::Histogram(buckets) => {
            let total = buckets
                .iter()
                .find(|b| b.less_than.is_infinite())
                .map_or(0.0, |b| b.count);
            assert!(total >= 20.0, "{buckets:?}");
            assert!(
                buckets.windows(2).all(|w| w[0].count <= w[1].count),
                "cumulative: {buckets:?}"
            );
        }
        other => panic!("not a histogram: {other:?}"),
    }
    wait_for("probe answers seen", Duration::from_secs(60), || {
        let s = scrape(&http);
        let n = s
            .samples
            .iter()
            .filter(|x| x.metric == "rampart_probe_answer_age_seconds")
            .count();
        if n >= 3 {
            Ok(())
        } else {
            Err(format!("probe answers seen from {n} members"))
        }
    });
}
