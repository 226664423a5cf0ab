//! The admin's tools as an admin uses them (issue 2): register, list, renew and revoke a
//! client; admit and remove nodes; inspect what was written; keys and credentials mode 0600.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rampart_tests::{rampart_fails, rampart_ok};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_client_is_registered_listed_renewed_and_revoked() {
    let root = tempfile::tempdir().unwrap();
    let admin = root.path().join("admin");
    let a = s(&admin);
    rampart_ok(&["admin", "--admin-dir", a, "init"]);
    assert_eq!(mode(&admin.join("authority.key")), 0o600);

    let cred = root.path().join("alice.cred");
    let out = rampart_ok(&[
        "admin",
        "--admin-dir",
        a,
        "add-client",
        "--name",
        "alice",
        "--contact",
        "alice@example.org",
        "--caps",
        "put,get",
        "--expires",
        "30d",
        "--out",
        s(&cred),
    ]);
    assert!(out.contains("alice"), "{out}");
    assert_eq!(mode(&cred), 0o600, "a credential holds a secret key");
    let shown = rampart_ok(&["inspect", s(&cred)]);
    assert!(
        shown.contains("client \"alice\"") && shown.contains("caps put,get"),
        "{shown}"
    );
    assert!(
        !shown.contains("rampart-secret-key"),
        "inspect never prints secrets"
    );

    let list = rampart_ok(&["admin", "--admin-dir", a, "clients"]);
    assert!(
        list.contains("alice") && list.contains("active") && list.contains("alice@example.org"),
        "{list}"
    );

    let renewed = root.path().join("alice-2.cred");
    rampart_ok(&[
        "admin",
        "--admin-dir",
        a,
        "renew-client",
        "--client",
        "alice",
        "--expires",
        "400d",
        "--out",
        s(&renewed),
    ]);
    let json: serde_json::Value = serde_json::from_str(&rampart_ok(&[
        "admin",
        "--admin-dir",
        a,
        "clients",
        "--json",
    ]))
    .unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 1, "renewal keeps one client: {json}");
    let first_key = rows[0]["key"].clone();
    assert!(
        rows[0]["not_after"].as_u64().unwrap() > 300 * 86_400,
        "the renewed expiry is listed"
    );
    let shown = rampart_ok(&["inspect", s(&renewed)]);
    assert!(
        shown.contains("client credential"),
        "the admin wrote the key again: {shown}"
    );

    let revoke = root.path().join("alice.revoke");
    rampart_ok(&[
        "admin",
        "--admin-dir",
        a,
        "revoke-client",
        "--client",
        "alice",
        "--out",
        s(&revoke),
    ]);
    let list = rampart_ok(&["admin", "--admin-dir", a, "clients"]);
    assert!(list.contains("revoked"), "{list}");
    let shown = rampart_ok(&["inspect", s(&revoke)]);
    assert!(shown.contains("revoke client"), "{shown}");
    let json: serde_json::Value = serde_json::from_str(&rampart_ok(&[
        "admin",
        "--admin-dir",
        a,
        "clients",
        "--json",
    ]))
    .unwrap();
    assert_eq!(json[0]["key"], first_key, "renewal kept the client's key");

    let err = rampart_fails(&[
        "admin",
        "--admin-dir",
        a,
        "renew-client",
        "--client",
        "bob",
        "--out",
        s(&root.path().join("x")),
    ]);
    assert!(err.contains("no client named"), "{err}");
    let err = rampart_fails(&[
        "admin",
        "--admin-dir",
        a,
        "add-client",
        "--name",
        "carol",
        "--caps",
        "put,delete",
        "--out",
        s(&root.path().join("c")),
    ]);
    assert!(
        err.contains("unknown capability") && err.contains("delete"),
        "{err}"
    );
    let err = rampart_fails(&[
        "admin",
        "--admin-dir",
        a,
        "add-client",
        "--name",
        "carol",
        "--expires",
        "yesterday",
        "--out",
        s(&root.path().join("c")),
    ]);
    assert!(err.contains("--expires"), "{err}");
}

#[test]
fn nodes_are_admitted_listed_and_removed() {
    let root = tempfile::tempdir().unwrap();
    let admin = root.path().join("admin");
    let a = s(&admin);
    rampart_ok(&["admin", "--admin-dir", a, "init"]);
    let key = root.path().join("n1.key");
    let out = rampart_ok(&["keygen", "--out", s(&key)]);
    assert!(out.contains("node id") && out.contains("peer id"), "{out}");
    assert_eq!(mode(&key), 0o600);
    let add = root.path().join("n1.add");
    rampart_ok(&[
        "admin",
        "--admin-dir",
        a,
        "add-node",
        "--key",
        s(&root.path().join("n1.pub")),
        "--addr",
        "/ip4/10.0.0.1/tcp/7700",
        "--out",
        s(&add),
    ]);
    let list = rampart_ok(&["admin", "--admin-dir", a, "nodes"]);
    assert!(
        list.contains("active") && list.contains("/ip4/10.0.0.1/tcp/7700"),
        "{list}"
    );
    rampart_ok(&[
        "admin",
        "--admin-dir",
        a,
        "remove-node",
        "--node",
        s(&root.path().join("n1.pub")),
        "--out",
        s(&root.path().join("n1.remove")),
    ]);
    let list = rampart_ok(&["admin", "--admin-dir", a, "nodes"]);
    assert!(list.contains("removed"), "{list}");
    let err = rampart_fails(&[
        "admin",
        "--admin-dir",
        a,
        "add-node",
        "--key",
        s(&root.path().join("n1.pub")),
        "--addr",
        "10.0.0.1:7700",
        "--out",
        s(&root.path().join("bad.add")),
    ]);
    assert!(err.contains("10.0.0.1:7700"), "{err}");
    let err = rampart_fails(&[
        "admin",
        "--admin-dir",
        s(&root.path().join("nowhere")),
        "nodes",
    ]);
    assert!(err.contains("rampart admin init"), "{err}");
}
