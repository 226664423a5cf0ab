//! `rampart keygen`.

use std::path::Path;

use bootstrap::files::Overwrite;
use bootstrap::keyfile;
use overlay::crypto::SecretKey;
use overlay::id::NodeId;

use rampart::net::peers::peer_id_of;

pub fn run(out: &Path) -> anyhow::Result<()> {
    let key = SecretKey::generate(&mut rand::rngs::OsRng);
    keyfile::write(out, &key, Overwrite::Refuse)?;
    let public_path = out.with_extension("pub");
    keyfile::write_public(&public_path, &key.public(), Overwrite::Replace)?;
    println!("secret key  {} (mode 0600)", out.display());
    println!(
        "public key  {} ({})",
        hex::encode(key.public().as_bytes()),
        public_path.display()
    );
    println!("node id     {}", NodeId::of(&key.public()));
    println!("peer id     {}", peer_id_of(&key.public()));
    Ok(())
}
