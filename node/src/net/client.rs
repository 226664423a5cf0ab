//! One-shot clients for the CLI and tests: dial a node, send one request, wait for the answer
//! with a deadline, and report unreachable peers and garbage answers as errors.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use futures::StreamExt;
use libp2p::request_response::{self, Message};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm};
use overlay::dbqs::wire::{StoreReply, StoreRequest};
use overlay::wire::{Request, Response};

use super::behaviour::{self, Behaviour, BehaviourEvent, Timing};
use super::store_stream::{ClientEvent, Link};

/// Sends `request` to the node at `peer` and returns its response.
pub async fn request(peer: &str, request: Request, timeout: Duration) -> anyhow::Result<Response> {
    let keypair = libp2p::identity::Keypair::generate_ed25519();
    request_with(peer, keypair, request, timeout).await
}

/// Sends `request` over a connection authenticated with `key` (a client's, whose
/// credential the request carries).
pub async fn request_as(
    peer: &str,
    key: &overlay::crypto::SecretKey,
    request: Request,
    timeout: Duration,
) -> anyhow::Result<Response> {
    request_with(peer, super::peers::keypair_of(key), request, timeout).await
}

async fn request_with(
    peer: &str,
    keypair: libp2p::identity::Keypair,
    request: Request,
    timeout: Duration,
) -> anyhow::Result<Response> {
    one_shot(
        peer,
        keypair,
        timeout,
        |swarm, p| {
            swarm.behaviour_mut().control.send_request(&p, request);
        },
        |ev| match ev {
            BehaviourEvent::Control(request_response::Event::Message {
                message: Message::Response { response, .. },
                ..
            }) => Some(Ok(response)),
            BehaviourEvent::Control(request_response::Event::OutboundFailure { error, .. }) => {
                Some(Err(error.to_string()))
            }
            _ => None,
        },
    )
    .await
}

/// Sends one store request to the replica at `peer`, over a connection authenticated as
/// `key` (a client's credential key), on the long-lived store stream, and returns its reply.
/// Apps use [`Client`](crate::client::Client); this is for tests and diagnosis.
pub async fn store_request(
    peer: &str,
    key: &overlay::crypto::SecretKey,
    msg: StoreRequest,
    timeout: Duration,
) -> anyhow::Result<StoreReply> {
    let mut outcomes = store_request_on_streams(peer, key, msg, 1, timeout).await?;
    match outcomes.pop() {
        Some(Ok(reply)) => Ok(reply),
        Some(Err(e)) => bail!("{peer} did not answer properly: {e}"),
        None => bail!("{peer}: no stream"),
    }
}

/// Opens `streams` store streams to the replica at `peer` on one connection, sends `msg` on
/// each and returns, per stream, its reply or why it closed (for tests of the replica's
/// bounds on streams).
pub async fn store_request_on_streams(
    peer: &str,
    key: &overlay::crypto::SecretKey,
    msg: StoreRequest,
    streams: usize,
    timeout: Duration,
) -> anyhow::Result<Vec<Result<StoreReply, String>>> {
    let mut swarm = dialled(peer, super::peers::keypair_of(key), timeout)?;
    let (events_tx, mut events) = tokio::sync::mpsc::channel(streams.max(1));
    let control = swarm.behaviour().stream.new_control();
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    // One stream at a time, each held open once answered: a burst of new streams could
    // overrun libp2p-stream's hand-over queue, which drops what does not fit.
    let mut links = Vec::new();
    let mut outcomes = Vec::new();
    let mut connected = None;
    while outcomes.len() < streams {
        if let Some(peer_id) = connected
            && links.len() == outcomes.len()
        {
            let i = links.len() as u64;
            let l = Link::open(control.clone(), peer_id, i, events_tx.clone());
            l.send(i, &msg).map_err(|e| anyhow!("{peer}: {e}"))?;
            links.push(l);
        }
        tokio::select! {
            ev = swarm.select_next_some() => match ev {
                SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                    connected.get_or_insert(peer_id);
                }
                SwarmEvent::OutgoingConnectionError { error, .. } => {
                    bail!("cannot reach {peer}: {error}")
                }
                _ => {}
            },
            ev = events.recv() => match ev {
                Some(ClientEvent::Reply { reply, .. }) => outcomes.push(Ok(reply)),
                Some(ClientEvent::Closed { error, .. }) => outcomes.push(Err(error)),
                None => bail!("{peer}: the streams went away"),
            },
            _ = &mut deadline => bail!("no answer from {peer} within {}s", timeout.as_secs()),
        }
    }
    Ok(outcomes)
}

/// A swarm of its own for one exchange, dialling the node at `peer`.
fn dialled(
    peer: &str,
    keypair: libp2p::identity::Keypair,
    timeout: Duration,
) -> anyhow::Result<Swarm<Behaviour>> {
    let addr: Multiaddr = peer
        .parse()
        .with_context(|| format!("{peer:?} is not a multiaddr (e.g. /ip4/127.0.0.1/tcp/7700)"))?;
    let timing = Timing {
        request_timeout: timeout,
        idle_timeout: timeout,
    };
    let mut swarm = behaviour::build(keypair, timing)?;
    swarm
        .dial(addr)
        .with_context(|| format!("cannot dial {peer}"))?;
    Ok(swarm)
}

async fn one_shot<R>(
    peer: &str,
    keypair: libp2p::identity::Keypair,
    timeout: Duration,
    send: impl FnOnce(&mut Swarm<Behaviour>, PeerId),
    mut take: impl FnMut(BehaviourEvent) -> Option<Result<R, String>>,
) -> anyhow::Result<R> {
    let mut swarm = dialled(peer, keypair, timeout)?;
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut send = Some(send);
    loop {
        let ev = tokio::select! {
            ev = swarm.select_next_some() => ev,
            _ = &mut deadline => bail!("no answer from {peer} within {}s", timeout.as_secs()),
        };
        match ev {
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                if let Some(s) = send.take() {
                    s(&mut swarm, peer_id);
                }
            }
            SwarmEvent::OutgoingConnectionError { error, .. } => {
                bail!("cannot reach {peer}: {error}")
            }
            SwarmEvent::Behaviour(ev) => match take(ev) {
                Some(Ok(r)) => return Ok(r),
                Some(Err(e)) => return Err(anyhow!("{peer} did not answer properly: {e}")),
                None => {}
            },
            _ => {}
        }
    }
}
