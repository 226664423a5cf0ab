//! Four real `rampart node` processes on 127.0.0.1, made and started with the CLI
//! (issue 2's acceptance test).

use std::time::Duration;

use rampart_tests::cluster::Cluster;

#[test]
fn four_nodes_connect_to_each_other_and_agree_on_epoch_0() {
    let mut c = Cluster::genesis(4);
    c.start_all();
    let statuses = c.wait_meshed(Duration::from_secs(60));
    let hash = statuses[0]["config_hash"].as_str().unwrap().to_string();
    for (i, s) in statuses.iter().enumerate() {
        assert_eq!(s["epoch"], 0, "node{i}");
        assert_eq!(s["config_hash"], hash.as_str(), "node{i}");
        let members = s["members"].as_array().unwrap();
        assert_eq!(members.len(), 4);
        let others = members
            .iter()
            .filter(|m| m["node"] != s["node"] && m["connected"] == true)
            .count();
        assert_eq!(others, 3, "node{i} is connected to {others} of the other 3");
        assert_eq!(s["f"], 1);
        assert_eq!(
            members.iter().filter(|m| m["ms"] == true).count(),
            4,
            "MS group of 3f_ms+1 = 4"
        );
    }
    // The human-readable status says the same.
    let table = rampart_tests::rampart_ok(&["status", "--peer", &c.nodes[2].addr]);
    assert!(table.contains("connected to 3 of 3 others"), "{table}");
}

#[test]
fn a_restarted_node_rejoins_from_its_data_directory() {
    let mut c = Cluster::genesis(4);
    c.start_all();
    c.wait_meshed(Duration::from_secs(60));
    c.kill(3);
    c.start(3);
    let statuses = c.wait_meshed(Duration::from_secs(60));
    assert!(statuses.iter().all(|s| s["epoch"] == 0));
}
