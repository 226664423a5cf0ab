//! An honest client whose write was cut short is not revoked (issue 15), on real processes.
//! A put's store phase reaches one replica only (the client's test-build fault hook drops the
//! rest) and times out; the next `rampart put` of that object does not hear from that replica
//! in its query. With the write journal it signs a higher version and nothing happens; with
//! the journal removed (the behaviour before the fix), the replica holding the first version
//! proves "equivocation" and the MS revokes the client. Both are checked, with two clients.

use std::path::Path;
use std::time::Duration;

use rampart_tests::cluster::Cluster;
use rampart_tests::{rampart, rampart_ok, wait_for};

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A client file for `name` with a short timeout, so the cut-short put gives up quickly.
fn client(c: &Cluster, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let file = c.client(name, "put,get", "30d");
    let text = std::fs::read_to_string(&file).expect("client file");
    std::fs::write(&file, text.replace("timeout = \"30s\"", "timeout = \"3s\"")).expect("write");
    let cred = file.with_file_name(format!("{name}.cred"));
    (file, cred)
}

/// `rampart put` with the fault hook's variables set.
fn put(file: &Path, name: &str, value: &Path, fault: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(rampart_tests::rampart_bin());
    cmd.args(["put", name, s(value), "--client", s(file)]);
    for (k, v) in fault {
        cmd.env(k, v);
    }
    cmd.output().expect("rampart runs")
}

/// Clients revoked in node 0's current configuration.
fn revoked(c: &Cluster) -> Result<Vec<String>, String> {
    let st = c.status(0)?;
    let list = st["revoked"].as_array().ok_or("no revoked list")?;
    Ok(list.iter().map(|r| r.to_string()).collect())
}

/// Cuts a put of `name` short, then puts it again without hearing from the replica that
/// holds the cut-short version; `forget` removes the journal in between.
fn cut_short_then_again(dir: &Path, file: &Path, cred: &Path, name: &str, forget: bool) {
    let (a, b) = (dir.join(format!("{name}.a")), dir.join(format!("{name}.b")));
    std::fs::write(&a, b"first value").expect("write a");
    std::fs::write(&b, b"second value").expect("write b");
    let first = put(file, name, &a, &[("RAMPART_FAULT_WRITES_ONLY_TO", "0")]);
    assert!(
        !first.status.success(),
        "the cut-short put succeeded: {}",
        String::from_utf8_lossy(&first.stdout)
    );
    let journal = Path::new(&format!("{}.journal", cred.display())).to_path_buf();
    assert!(journal.exists(), "no journal after a cut-short write");
    if forget {
        std::fs::remove_file(&journal).expect("remove journal");
    }
    let second = put(file, name, &b, &[("RAMPART_FAULT_READS_SKIP", "0")]);
    assert!(
        second.status.success(),
        "the second put failed: {}",
        String::from_utf8_lossy(&second.stderr)
    );
}

#[test]
fn a_put_after_a_cut_short_one_does_not_get_an_honest_client_revoked() {
    let mut c = Cluster::genesis(4);
    c.node_config = "[ms]\nepoch_interval_ms = 500\n".into();
    c.start_all();
    c.wait_meshed(Duration::from_secs(90));
    let dir = c.root.path().join("values");
    std::fs::create_dir_all(&dir).expect("values dir");

    // With the journal: the second put signs above the cut-short version.
    let (file, cred) = client(&c, "honest");
    cut_short_then_again(&dir, &file, &cred, "doc", false);
    let got = rampart_ok(&["get", "doc", "--client", s(&file)]);
    assert_eq!(got, "second value");

    // Without it (as before the fix), the same steps get a second client revoked; once that
    // shows, the first must still not be.
    let (file2, cred2) = client(&c, "forgetful");
    cut_short_then_again(&dir, &file2, &cred2, "doc", true);
    wait_for(
        "the forgetful client revoked",
        Duration::from_secs(60),
        || match revoked(&c)? {
            r if r.is_empty() => Err("nobody revoked yet".into()),
            _ => Ok(()),
        },
    );
    let denied = rampart(&["get", "doc", "--client", s(&file2)]);
    assert!(!denied.status.success(), "the revoked client still reads");
    let got = rampart_ok(&["get", "doc", "--client", s(&file)]);
    assert_eq!(got, "second value", "the honest client was shut out");
    assert_eq!(
        revoked(&c).expect("status").len(),
        1,
        "both clients were revoked"
    );
}
