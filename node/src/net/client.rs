//! A one-shot client for the CLI: dial a node, send one control request, wait for the answer
//! with a deadline, and report unreachable peers and garbage answers as errors.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use futures::StreamExt;
use libp2p::Multiaddr;
use libp2p::request_response::{self, Message};
use libp2p::swarm::SwarmEvent;
use overlay::wire::{Request, Response};

use super::behaviour::{self, BehaviourEvent, Timing};

/// Sends `request` to the node at `peer` and returns its response.
pub async fn request(peer: &str, request: Request, timeout: Duration) -> anyhow::Result<Response> {
    let addr: Multiaddr = peer
        .parse()
        .with_context(|| format!("{peer:?} is not a multiaddr (e.g. /ip4/127.0.0.1/tcp/7700)"))?;
    let keypair = libp2p::identity::Keypair::generate_ed25519();
    let timing = Timing {
        request_timeout: timeout,
        idle_timeout: timeout,
    };
    let mut swarm = behaviour::build(keypair, timing)?;
    swarm
        .dial(addr.clone())
        .with_context(|| format!("cannot dial {peer}"))?;
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut pending = Some(request);
    loop {
        let ev = tokio::select! {
            ev = swarm.select_next_some() => ev,
            _ = &mut deadline => bail!("no answer from {peer} within {}s", timeout.as_secs()),
        };
        match ev {
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                if let Some(req) = pending.take() {
                    swarm.behaviour_mut().control.send_request(&peer_id, req);
                }
            }
            SwarmEvent::OutgoingConnectionError { error, .. } => {
                bail!("cannot reach {peer}: {error}")
            }
            SwarmEvent::Behaviour(BehaviourEvent::Control(ev)) => match ev {
                request_response::Event::Message {
                    message: Message::Response { response, .. },
                    ..
                } => {
                    return Ok(response);
                }
                request_response::Event::OutboundFailure { error, .. } => {
                    return Err(anyhow!("{peer} did not answer properly: {error}"));
                }
                _ => {}
            },
            _ => {}
        }
    }
}
