//! `rampart freshness --peer <multiaddr>`: ask the MS, through any node, to certify the
//! current epoch for a fresh nonce, and check the certificate against the MS public key.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use bootstrap::{bundle, keyfile};
use overlay::crypto::PublicKey;
use overlay::wire::{Request, Response};
use rand::RngCore;

use rampart::net::client;

/// The MS public key from hex, a .pub file, or a node's bundle.
fn ms_key(arg: &str) -> anyhow::Result<PublicKey> {
    if Path::new(arg).is_file()
        && let Ok(b) = bundle::read(Path::new(arg))
    {
        return Ok(b.ms_key);
    }
    keyfile::read_public(arg).with_context(|| {
        format!("--ms-key {arg:?}: neither a bundle, a .pub file nor 64 hex digits")
    })
}

pub fn run(
    peer: &str,
    nonce: Option<&str>,
    key: Option<&str>,
    json: bool,
    timeout: Duration,
) -> anyhow::Result<()> {
    let ms_key = key.map(ms_key).transpose()?;
    let nonce: [u8; 32] = match nonce {
        Some(h) => hex::decode(h)
            .ok()
            .and_then(|v| v.try_into().ok())
            .with_context(|| format!("--nonce {h:?}: 64 hex digits expected"))?,
        None => {
            let mut n = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut n);
            n
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let cert = match rt.block_on(client::request(peer, Request::Freshness { nonce }, timeout))? {
        Response::Freshness(c) => c,
        Response::Refused(why) => bail!("{peer} could not get a freshness certificate: {why}"),
        other => bail!("{peer} answered a freshness request with something else: {other:?}"),
    };
    if cert.statement.nonce != nonce {
        bail!("{peer} returned a certificate for another nonce");
    }
    let verified = match &ms_key {
        Some(k) => {
            cert.verify(k)
                .with_context(|| format!("the certificate from {peer}"))?;
            true
        }
        None => false,
    };
    if json {
        let v = serde_json::json!({
            "epoch": cert.statement.epoch.0,
            "nonce": hex::encode(nonce),
            "signature": hex::encode(cert.signature.to_bytes()),
            "verified": verified,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!("epoch      {}", cert.statement.epoch);
    println!("nonce      {}", hex::encode(nonce));
    println!("signature  {}", hex::encode(cert.signature.to_bytes()));
    match ms_key {
        Some(k) => println!(
            "verified   under the MS public key {} (f_ms+1 shares, one Ed25519 signature)",
            hex::encode(k.as_bytes())
        ),
        None => {
            println!("NOT verified: pass --ms-key <hex, .pub file or a node's bundle> to check it")
        }
    }
    Ok(())
}
