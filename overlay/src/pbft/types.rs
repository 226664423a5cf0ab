//! Numbers and requests of the PBFT engine.

use serde::{Deserialize, Serialize};

use crate::crypto::{self, BadSignature, PublicKey, SecretKey, Signature};
use crate::encoding::{Domain, domain_bytes, encode};
use crate::id::Hash;

/// A view number; the primary of view v is replica v mod n.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct View(pub u64);

/// A sequence number assigned by a primary to a batch.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct Seq(pub u64);

/// A replica's index in the instance's replica list.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct ReplicaIdx(pub u32);

impl View {
    /// The next view.
    pub fn next(self) -> View {
        View(self.0.saturating_add(1))
    }
}

impl Seq {
    /// The next sequence number.
    pub fn next(self) -> Seq {
        Seq(self.0.saturating_add(1))
    }
}

/// An operation a client asks the replicated application to execute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The PBFT instance it is for. A node may run a retiring instance beside the current one
    /// (the MS keeps its last one serving after a handover), and a request must never execute
    /// in an instance it was not meant for.
    pub instance: crate::id::Hash,
    /// The client's key; replies go to it and it signs the request.
    pub client: PublicKey,
    /// Client-chosen, strictly increasing per client: a request executes at most once.
    pub timestamp: u64,
    /// The operation, opaque to PBFT.
    pub op: Vec<u8>,
}

impl Domain for Request {
    const DOMAIN: &'static str = "pbft-request";
}

/// A request with its client's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedRequest {
    /// The request.
    pub request: Request,
    /// The client's signature over it.
    pub sig: Signature,
}

impl SignedRequest {
    /// Signs `request` with the client's key.
    pub fn sign(key: &SecretKey, request: Request) -> SignedRequest {
        let sig = key.sign(&request);
        SignedRequest { request, sig }
    }

    /// Checks the client's signature.
    pub fn verify(&self) -> Result<(), BadSignature> {
        crypto::verify(&self.request.client, &self.request, &self.sig)
    }

    /// The request's digest.
    pub fn digest(&self) -> Hash {
        Hash::of(&[&domain_bytes(&self.request)])
    }
}

/// An ordered batch of requests; empty is the null request of a new view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Batch(pub Vec<SignedRequest>);

impl Domain for Batch {
    const DOMAIN: &'static str = "pbft-batch";
}

impl Batch {
    /// The digest a pre-prepare names.
    pub fn digest(&self) -> Hash {
        Hash::of(&[&domain_bytes(self)])
    }
}

/// A replica's reply to a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The view the request executed in.
    pub view: View,
    /// The request's timestamp.
    pub timestamp: u64,
    /// The client.
    pub client: PublicKey,
    /// The replying replica.
    pub replica: ReplicaIdx,
    /// The application's result.
    pub result: Vec<u8>,
}

impl Domain for Reply {
    const DOMAIN: &'static str = "pbft-reply";
}

/// A reply signed by its replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedReply {
    /// The reply.
    pub reply: Reply,
    /// The replica's signature.
    pub sig: Signature,
}

impl SignedReply {
    /// Signs a reply.
    pub fn sign(key: &SecretKey, reply: Reply) -> SignedReply {
        let sig = key.sign(&reply);
        SignedReply { reply, sig }
    }

    /// Checks the signature against the replica's key.
    pub fn verify(&self, key: &PublicKey) -> Result<(), BadSignature> {
        crypto::verify(key, &self.reply, &self.sig)
    }
}

/// The digest of a result, which clients compare across replies.
pub fn result_digest(result: &[u8]) -> Hash {
    Hash::of(&[&encode(&result)])
}
