//! The node as a PBFT client of its own MS instance: what its MS driver decides to submit
//! (epoch proposals, dealings, checks, reveals, certificates) goes through PBFT like any
//! client's request, signed with the node key, one at a time.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use overlay::crypto::SecretKey;
use overlay::ms::{MsApp, Op, Receipt};
use overlay::pbft::{self, Client, ClientAction, SignedReply, SignedRequest};
use tracing::{debug, info};

/// Operations waiting; more are dropped (the driver proposes again when it must).
pub const QUEUE_MAX: usize = 256;
/// How long a request waits before it is sent to every replica again.
const RETRY: Duration = Duration::from_secs(2);

/// What the network task must do for the submitter.
pub enum SubmitOut {
    /// Send to every replica of the instance.
    Send(SignedRequest),
}

/// The node's client of its MS instance.
pub struct Submitter {
    seed: [u8; 32],
    client: Option<Client>,
    queue: VecDeque<Op>,
    current: Option<Op>,
    retry_at: Option<Instant>,
    instance: Option<overlay::id::Hash>,
    replicas: Vec<overlay::crypto::PublicKey>,
}

impl Submitter {
    /// A submitter signing with the node key of `seed`.
    pub fn new(seed: [u8; 32]) -> Submitter {
        Submitter {
            seed,
            client: None,
            queue: VecDeque::new(),
            current: None,
            retry_at: None,
            instance: None,
            replicas: Vec::new(),
        }
    }

    /// The instance it submits to.
    pub fn instance(&self) -> Option<overlay::id::Hash> {
        self.instance
    }

    /// The replicas of that instance.
    pub fn replicas(&self) -> &[overlay::crypto::PublicKey] {
        &self.replicas
    }

    /// Submits to the instance `cfg` from now on; what was waiting is dropped (the driver
    /// decides again for the new instance).
    pub fn set_instance(&mut self, cfg: Option<pbft::Config>) {
        self.instance = cfg.as_ref().map(|c| c.instance);
        self.replicas = cfg.as_ref().map(|c| c.replicas.clone()).unwrap_or_default();
        let first = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(1);
        self.client = cfg.map(|c| {
            Client::new(
                c,
                SecretKey::from_seed(&self.seed),
                first,
                RETRY.as_millis() as u64,
            )
        });
        self.current = None;
        self.retry_at = None;
        self.queue.clear();
    }

    /// Queues `op` unless the same operation is already waiting.
    pub fn submit(&mut self, op: Op) {
        if self.current.as_ref() == Some(&op) || self.queue.contains(&op) {
            return;
        }
        if self.queue.len() < QUEUE_MAX {
            self.queue.push_back(op);
        }
    }

    /// Starts the next request if none is in flight, and retransmits a late one.
    pub fn poll(&mut self, now: Instant) -> Vec<SubmitOut> {
        let Some(client) = self.client.as_mut() else {
            return Vec::new();
        };
        if self.current.is_none()
            && let Some(op) = self.queue.pop_front()
        {
            let actions = client.submit(MsApp::encode_op(&op)).unwrap_or_default();
            self.current = Some(op);
            return self.perform(actions, now);
        }
        if self.retry_at.is_some_and(|t| t <= now) {
            let actions = client.on_timer();
            return self.perform(actions, now);
        }
        Vec::new()
    }

    /// A replica's reply.
    pub fn on_reply(&mut self, reply: SignedReply, now: Instant) -> Vec<SubmitOut> {
        let Some(client) = self.client.as_mut() else {
            return Vec::new();
        };
        let actions = client.on_reply(reply);
        self.perform(actions, now)
    }

    /// Whether `client` is this node's key.
    pub fn is_mine(&self, client: &overlay::crypto::PublicKey) -> bool {
        *client == SecretKey::from_seed(&self.seed).public()
    }

    fn perform(&mut self, actions: Vec<ClientAction>, now: Instant) -> Vec<SubmitOut> {
        let mut out = Vec::new();
        for a in actions {
            match a {
                ClientAction::Send { request, .. } | ClientAction::Broadcast(request) => {
                    out.push(SubmitOut::Send(request))
                }
                ClientAction::SetTimer { after_ms } => {
                    self.retry_at = Some(now + Duration::from_millis(after_ms))
                }
                ClientAction::CancelTimer => self.retry_at = None,
                ClientAction::Done { result, .. } => {
                    let op = self.current.take();
                    let kind = op.as_ref().map(op_name).unwrap_or("?");
                    match MsApp::decode_receipt(&result) {
                        Some(Receipt::Refused(e)) => {
                            debug!(op = kind, reason = %e, "MS refused our operation")
                        }
                        Some(r) => info!(op = kind, receipt = ?r, "MS operation ordered"),
                        None => debug!(
                            op = kind,
                            "MS answered with something that is not a receipt"
                        ),
                    }
                }
            }
        }
        out
    }
}

fn op_name(op: &Op) -> &'static str {
    match op {
        Op::Add(_) => "add",
        Op::Remove(_) => "remove",
        Op::Revoke(_) => "revoke",
        Op::Unresponsive { .. } => "unresponsive",
        Op::Misbehaviour(_) => "misbehaviour",
        Op::NewEpoch { .. } => "new-epoch",
        Op::Deal(_) => "deal",
        Op::Complain { .. } => "complain",
        Op::Reveal { .. } => "reveal",
        Op::Ready { .. } => "ready",
        Op::Certified(_) => "certified",
    }
}
