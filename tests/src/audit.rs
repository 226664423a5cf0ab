//! The per-replica audit (issue 15) on real processes: what each replica of an object's
//! current group holds in its own store, read from its rocksdb beside the running node, with
//! no quorum read in between. A quorum read writes back what it finds, so it would repair,
//! and hide, a single replica that a transfer rolled back.

use std::collections::BTreeMap;
use std::path::Path;

use actors::db::Db;
use actors::dbqs::RocksStore;
use actors::epochs::EpochStore;
use overlay::config::Configuration;
use overlay::dbqs::blob::Blob;
use overlay::dbqs::object::Version;
use overlay::dbqs::replica::Store as _;
use overlay::id::{Hash, NodeId};
use overlay::ring::Ring;

use crate::cluster::Cluster;

/// What one replica holds of one object.
#[derive(Debug, Clone)]
pub struct Held {
    /// The node's index in the cluster.
    pub node: usize,
    /// The version in its store, if any.
    pub version: Option<Version>,
}

/// The node id of the node whose directory is `dir` (from its public key file).
pub fn node_id(dir: &Path) -> Result<NodeId, String> {
    let hex = std::fs::read_to_string(dir.join("node.pub")).map_err(|e| e.to_string())?;
    let key = overlay::crypto::public_key_from_hex(&hex).map_err(|e| e.to_string())?;
    Ok(NodeId::of(&key))
}

/// The configuration node `i` saved last.
pub fn config_of(c: &Cluster, i: usize) -> Result<Configuration, String> {
    let (config, _) = EpochStore::new(&c.nodes[i].dir.join("data"))
        .load()
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("node{i} saved no configuration"))?;
    Ok(config)
}

/// For each of `ids`, what every replica of its group in `config` holds, nodes in `skip`
/// (the liars) left out. Each store is opened to read only beside its running node.
pub fn replicas_hold(
    c: &Cluster,
    config: &Configuration,
    ids: &[Hash],
    skip: &[usize],
) -> Result<Vec<Vec<Held>>, String> {
    let mut index = BTreeMap::new();
    for (i, n) in c.nodes.iter().enumerate() {
        index.insert(node_id(&n.dir)?, i);
    }
    let ring = Ring::of(config);
    let mut stores: BTreeMap<usize, RocksStore> = BTreeMap::new();
    let mut out = Vec::new();
    for id in ids {
        let mut here = Vec::new();
        for member in ring.replica_group(id) {
            let i = *index
                .get(&member)
                .ok_or_else(|| format!("member {member} is no node of this cluster"))?;
            if skip.contains(&i) {
                continue;
            }
            let store = match stores.entry(i) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    let db = Db::open_read_only(&c.nodes[i].dir.join("data").join("db"))
                        .map_err(|err| format!("node{i}: {err}"))?;
                    e.insert(RocksStore::new(db))
                }
            };
            let version = store.version(id).map_err(|e| format!("node{i}: {e}"))?;
            here.push(Held { node: i, version });
        }
        out.push(here);
    }
    Ok(out)
}

/// The bytes of a version stored inline (the small values tests write).
pub fn inline_value(v: &Version) -> Option<Vec<u8>> {
    match Blob::from_bytes(v.value.as_deref()?) {
        Ok(Blob::Inline(b)) => Some(b),
        _ => None,
    }
}
