//! Lying on purpose, for tests: `rampart node start --byzantine <behaviour>` makes a node a
//! Byzantine replica on real processes, so that the fault campaign runs with real liars and
//! not only simulated ones. Accepted by debug (test) builds only; a release build refuses it.
//! The node's protocols run as usual; what it sends is rewritten here on the way out.

use overlay::crypto::{SecretKey, Signature};
use overlay::dbqs::replica::Reply;
use overlay::id::Hash;
use overlay::pbft::{Payload, Signed};

/// How the node lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Behaviour {
    /// As an MS replica, votes twice for each prepare and commit to half its peers, first for
    /// another digest (two signed votes for one step: proof of equivocation); as a store
    /// replica, answers every other read as if it held nothing.
    Equivocate,
    /// Answers reads as if it held nothing (an old or empty replica).
    Stale,
    /// Corrupts the signatures of what it sends: PBFT messages and the versions it returns.
    Forge,
    /// Says nothing: no PBFT messages, store replies, transfer answers or probe answers.
    Silent,
}

/// The node's lies.
pub struct Liar {
    /// What it does.
    pub behaviour: Behaviour,
    key: SecretKey,
    replies: u64,
}

/// Whether this build may lie: test builds only.
pub fn allowed() -> bool {
    cfg!(debug_assertions)
}

fn corrupt(sig: &Signature) -> Signature {
    let mut b = sig.to_bytes();
    b[0] ^= 0x5a;
    Signature::from_bytes(&b)
}

impl Liar {
    /// A liar signing with the node key `key`.
    pub fn new(behaviour: Behaviour, key: SecretKey) -> Liar {
        Liar {
            behaviour,
            key,
            replies: 0,
        }
    }

    /// Whether it answers probes and transfer requests at all.
    pub fn speaks(&self) -> bool {
        self.behaviour != Behaviour::Silent
    }

    /// The store reply it sends instead of `reply`; `None` to say nothing.
    pub fn store_reply(&mut self, reply: Reply) -> Option<Reply> {
        self.replies += 1;
        let stale = |r: Reply| match r {
            Reply::Version(_) => Reply::Version(None),
            Reply::Content(_) => Reply::Content(None),
            other => other,
        };
        match self.behaviour {
            Behaviour::Silent => None,
            Behaviour::Stale => Some(stale(reply)),
            Behaviour::Equivocate if self.replies.is_multiple_of(2) => Some(stale(reply)),
            Behaviour::Equivocate => Some(reply),
            Behaviour::Forge => Some(match reply {
                Reply::Version(Some(mut v)) => {
                    v.sig = corrupt(&v.sig);
                    Reply::Version(Some(v))
                }
                Reply::Content(Some(mut b)) => {
                    if let Some(x) = b.first_mut() {
                        *x ^= 0x5a;
                    }
                    Reply::Content(Some(b))
                }
                other => other,
            }),
        }
    }

    /// The PBFT messages it sends to the peer at position `peer` instead of `msg`, in the
    /// instance `instance`.
    pub fn pbft(&self, instance: &Hash, peer: usize, msg: Signed) -> Vec<Signed> {
        match self.behaviour {
            Behaviour::Silent => vec![],
            Behaviour::Stale => vec![msg],
            Behaviour::Forge => vec![Signed {
                sig: corrupt(&msg.sig),
                ..msg
            }],
            // Half the peers get a vote for another digest first, then the true one: two
            // votes for one step, both signed.
            Behaviour::Equivocate if !peer.is_multiple_of(2) => {
                let other = |d: &Hash| Hash::of(&[b"rampart/v1/byzantine\0", &d.0]);
                let payload = match &msg.payload {
                    Payload::Prepare { view, seq, digest } => Payload::Prepare {
                        view: *view,
                        seq: *seq,
                        digest: other(digest),
                    },
                    Payload::Commit { view, seq, digest } => Payload::Commit {
                        view: *view,
                        seq: *seq,
                        digest: other(digest),
                    },
                    _ => return vec![msg],
                };
                vec![Signed::sign(&self.key, instance, msg.from, payload), msg]
            }
            Behaviour::Equivocate => vec![msg],
        }
    }
}
