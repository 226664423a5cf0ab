//! The PBFT client (§4.1): one outstanding request at a time; send it to the primary it
//! believes in, and to every replica on timeout; accept a result once f+1 replicas sent
//! matching signed replies.

use std::collections::BTreeMap;

use crate::crypto::SecretKey;
use crate::id::Hash;

use super::config::Config;
use super::types::{ReplicaIdx, Request, SignedReply, SignedRequest, View, result_digest};

/// What the client asks its host to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAction {
    /// Send the request to one replica.
    Send {
        /// The replica.
        to: ReplicaIdx,
        /// The request.
        request: SignedRequest,
    },
    /// Send the request to every replica.
    Broadcast(SignedRequest),
    /// Arm the retransmission timer.
    SetTimer {
        /// After this many milliseconds.
        after_ms: u64,
    },
    /// Disarm it.
    CancelTimer,
    /// The request completed with this result.
    Done {
        /// The request's timestamp.
        timestamp: u64,
        /// The agreed result.
        result: Vec<u8>,
    },
}

struct Outstanding {
    request: SignedRequest,
    /// Each replica's reply: (view, result digest).
    replies: BTreeMap<ReplicaIdx, (View, Hash)>,
    results: BTreeMap<Hash, Vec<u8>>,
}

/// A PBFT client.
pub struct Client {
    cfg: Config,
    key: SecretKey,
    timestamp: u64,
    view: View,
    retry_ms: u64,
    outstanding: Option<Outstanding>,
}

impl Client {
    /// A client with `key`; `first_timestamp` must exceed any it used before (e.g. the time).
    pub fn new(cfg: Config, key: SecretKey, first_timestamp: u64, retry_ms: u64) -> Client {
        Client {
            cfg,
            key,
            timestamp: first_timestamp,
            view: View(0),
            retry_ms,
            outstanding: None,
        }
    }

    /// The client's public key.
    pub fn public(&self) -> crate::crypto::PublicKey {
        self.key.public()
    }

    /// Whether a request is outstanding.
    pub fn busy(&self) -> bool {
        self.outstanding.is_some()
    }

    /// The timestamp the next request will carry.
    pub fn next_timestamp(&self) -> u64 {
        self.timestamp.saturating_add(1)
    }

    /// Submits `op`. Refused (None) while a request is outstanding.
    pub fn submit(&mut self, op: Vec<u8>) -> Option<Vec<ClientAction>> {
        if self.outstanding.is_some() {
            return None;
        }
        self.timestamp += 1;
        let request = SignedRequest::sign(
            &self.key,
            Request {
                instance: self.cfg.instance,
                client: self.key.public(),
                timestamp: self.timestamp,
                op,
            },
        );
        let to = self.cfg.primary(self.view);
        self.outstanding = Some(Outstanding {
            request: request.clone(),
            replies: BTreeMap::new(),
            results: BTreeMap::new(),
        });
        Some(vec![
            ClientAction::Send { to, request },
            ClientAction::SetTimer {
                after_ms: self.retry_ms,
            },
        ])
    }

    /// The retransmission timer fired: send to everyone (§4.1).
    pub fn on_timer(&mut self) -> Vec<ClientAction> {
        match &self.outstanding {
            Some(o) => vec![
                ClientAction::Broadcast(o.request.clone()),
                ClientAction::SetTimer {
                    after_ms: self.retry_ms,
                },
            ],
            None => vec![],
        }
    }

    /// A reply arrived; completes on f+1 matching valid replies.
    pub fn on_reply(&mut self, r: SignedReply) -> Vec<ClientAction> {
        let Some(o) = &mut self.outstanding else {
            return vec![];
        };
        let rep = &r.reply;
        if rep.timestamp != o.request.request.timestamp || rep.client != self.key.public() {
            return vec![];
        }
        let Some(key) = self.cfg.key(rep.replica) else {
            return vec![];
        };
        if r.verify(key).is_err() {
            return vec![];
        }
        let digest = result_digest(&rep.result);
        o.results
            .entry(digest)
            .or_insert_with(|| rep.result.clone());
        o.replies.insert(rep.replica, (rep.view, digest));
        let matching: Vec<View> = o
            .replies
            .values()
            .filter(|(_, d)| *d == digest)
            .map(|(v, _)| *v)
            .collect();
        if matching.len() <= self.cfg.f {
            return vec![];
        }
        let result = o.results.remove(&digest).unwrap_or_default();
        let timestamp = o.request.request.timestamp;
        self.view = matching.into_iter().max().unwrap_or(self.view);
        self.outstanding = None;
        vec![
            ClientAction::CancelTimer,
            ClientAction::Done { timestamp, result },
        ]
    }
}
