//! Stores, reads and deletes an object with the client library.
//!
//! `cargo run -p rampart --example store -- client.toml` against a running system (for example
//! the demo's `demo-cluster/client.toml`).

use rampart::client::{Client, ClientOptions};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: store <client.toml>"))?;
    let client = Client::connect(ClientOptions::from_client_file(path.as_ref())?).await?;
    println!("connected in epoch {}", client.epoch().await?);

    let v = client.put(b"example/greeting", b"hello").await?;
    println!("stored version {}", v.number);
    let back = client.get(b"example/greeting").await?;
    println!(
        "read back {:?}",
        back.as_deref().map(String::from_utf8_lossy)
    );

    let id = client.put_content(b"immutable bytes").await?;
    println!("content object {}", id.to_hex());
    assert_eq!(
        client.get_content(id).await?.as_deref(),
        Some(&b"immutable bytes"[..])
    );

    client.delete(b"example/greeting").await?;
    assert_eq!(client.get(b"example/greeting").await?, None);
    println!("deleted");
    Ok(())
}
