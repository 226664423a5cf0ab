//! Lying on purpose, for tests: `rampart node start --byzantine <behaviour>` makes a node a
//! Byzantine replica on real processes, so that the fault campaign runs with real liars and
//! not only simulated ones. Accepted by debug (test) builds only; a release build refuses it.
//! The node's protocols run as usual; what it sends is rewritten here on the way out.

use std::collections::HashSet;
use std::time::Duration;

use overlay::crypto::{SecretKey, Signature};
use overlay::dbqs::fixture::{self, MADE_UP};
use overlay::dbqs::replica::{Reply, Request};
use overlay::id::Hash;
use overlay::pbft::{Payload, Signed};
use overlay::transfer::page::{Held, Listed, page_of};
use overlay::transfer::wire::{Answer, Ask};

/// How the node lies (several may be given at once: `--byzantine equivocate,rollback`).
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
    /// As an old replica in a transfer, lists objects it made up beside what it holds and
    /// serves them: chunks whose hash is their id and versions that verify, under a key and
    /// a credential no real authority signed (`overlay::dbqs::fixture::made_up_*`).
    Invent,
    /// Stores only the first version of each keyed object and acknowledges every later
    /// write without storing it, so that its reads, its listings and what it serves to
    /// transfers carry that older, validly signed version: a lower claim nobody can call a
    /// forgery.
    Rollback,
    /// Answers store requests and transfer questions correctly but late, after more than one
    /// mover tick of the asker ([`SLOW`]).
    Slow,
}

/// How late a slow liar answers: over two of the mover's one-second ticks.
pub const SLOW: Duration = Duration::from_millis(2_500);

/// Objects whose first version a rollback liar remembers; past this it stores as usual
/// (the memory of a test liar stays bounded too).
const KEPT_MAX: usize = 1 << 20;

/// The node's lies.
pub struct Liar {
    lies: Vec<Behaviour>,
    key: SecretKey,
    replies: u64,
    /// Keyed objects a rollback liar stored a version of.
    kept: HashSet<Hash>,
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

fn as_if_empty(r: Reply) -> Reply {
    match r {
        Reply::Version(_) => Reply::Version(None),
        Reply::Content(_) => Reply::Content(None),
        other => other,
    }
}

fn forged(r: Reply) -> Reply {
    match r {
        Reply::Version(Some(mut v)) => {
            v.sig = corrupt(&v.sig);
            Reply::Version(Some(v))
        }
        Reply::Content(Some(mut c)) => {
            if let Some(x) = c.bytes.first_mut() {
                *x ^= 0x5a;
            }
            Reply::Content(Some(c))
        }
        other => other,
    }
}

impl Liar {
    /// A liar doing every one of `lies`, signing with the node key `key`.
    pub fn new(lies: Vec<Behaviour>, key: SecretKey) -> Liar {
        Liar {
            lies,
            key,
            replies: 0,
            kept: HashSet::new(),
        }
    }

    /// Whether it does `b`.
    pub fn does(&self, b: Behaviour) -> bool {
        self.lies.contains(&b)
    }

    /// Whether it answers probes and transfer requests at all.
    pub fn speaks(&self) -> bool {
        !self.does(Behaviour::Silent)
    }

    /// How long it holds back each store reply and transfer answer.
    pub fn delay(&self) -> Option<Duration> {
        self.does(Behaviour::Slow).then_some(SLOW)
    }

    /// The reply it sends to store request `req` without storing anything (a write it
    /// acknowledges and drops); `None`: the request goes to the store as usual.
    pub fn store_request(&mut self, req: &Request) -> Option<Reply> {
        let Request::Write { version } = req else {
            return None;
        };
        if !self.does(Behaviour::Rollback) {
            return None;
        }
        let id = version.id();
        if self.kept.contains(&id) {
            return Some(Reply::Stored {
                held: version.key(),
            });
        }
        if self.kept.len() < KEPT_MAX {
            self.kept.insert(id);
        }
        None
    }

    /// The store reply it sends instead of `reply`; `None` to say nothing.
    pub fn store_reply(&mut self, reply: Reply) -> Option<Reply> {
        self.replies += 1;
        if !self.speaks() {
            return None;
        }
        let mut reply = reply;
        if self.does(Behaviour::Stale)
            || (self.does(Behaviour::Equivocate) && self.replies.is_multiple_of(2))
        {
            reply = as_if_empty(reply);
        }
        if self.does(Behaviour::Forge) {
            reply = forged(reply);
        }
        Some(reply)
    }

    /// The transfer answer it sends to `ask` instead of `answer`.
    pub fn transfer_answer(&self, ask: &Ask, answer: Answer) -> Answer {
        if !self.does(Behaviour::Invent) {
            return answer;
        }
        match (ask, answer) {
            (Ask::List { req, .. }, Answer::Page(p)) => {
                let made = (0..MADE_UP).flat_map(|k| {
                    let c = Listed {
                        id: fixture::made_up_content(k).id(),
                        held: Held::Content,
                    };
                    [c, Listed::keyed(&fixture::made_up_version(k))]
                });
                let complete = p.complete;
                let mut page = page_of(req, p.entries.into_iter().chain(made));
                page.complete &= complete;
                Answer::Page(page)
            }
            (
                Ask::Get {
                    req: Request::Read { id },
                    ..
                },
                Answer::Object(Reply::Version(None)),
            ) => {
                let mut made = (0..MADE_UP).map(fixture::made_up_version);
                Answer::Object(Reply::Version(made.find(|v| v.id() == *id).map(Box::new)))
            }
            (
                Ask::Get {
                    req: Request::GetContent { id },
                    ..
                },
                Answer::Object(Reply::Content(None)),
            ) => {
                let mut made = (0..MADE_UP).map(fixture::made_up_content);
                Answer::Object(Reply::Content(made.find(|c| c.id() == *id).map(Box::new)))
            }
            (_, other) => other,
        }
    }

    /// The PBFT messages it sends to the peer at position `peer` instead of `msg`, in the
    /// instance `instance`.
    pub fn pbft(&self, instance: &Hash, peer: usize, msg: Signed) -> Vec<Signed> {
        if !self.speaks() {
            return vec![];
        }
        if self.does(Behaviour::Equivocate) && !peer.is_multiple_of(2) {
            // Half the peers get a vote for another digest first, then the true one: two
            // votes for one step, both signed.
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
            return vec![Signed::sign(&self.key, instance, msg.from, payload), msg];
        }
        if self.does(Behaviour::Forge) {
            return vec![Signed {
                sig: corrupt(&msg.sig),
                ..msg
            }];
        }
        vec![msg]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use overlay::config::{Configuration, Member, choose_ms_group};
    use overlay::dbqs::object::Version;
    use overlay::id::{Epoch, NodeId};
    use overlay::ms::Evidence;
    use overlay::pbft::{Config, ReplicaIdx, Seq, View};

    fn config(keys: &[SecretKey]) -> Configuration {
        let mut members: Vec<Member> = keys
            .iter()
            .map(|k| Member {
                key: k.public(),
                addrs: vec![],
            })
            .collect();
        members.sort_by_key(Member::id);
        let ids: Vec<NodeId> = members.iter().map(Member::id).collect();
        Configuration {
            epoch: Epoch(0),
            ms_group: choose_ms_group(&ids, 1, &Hash([0; 32])),
            members,
            f: 1,
            f_ms: 1,
            vnodes: 4,
            revoked: Default::default(),
        }
    }

    #[test]
    fn each_behaviour_lies_as_described_and_an_equivocator_is_caught() {
        let keys: Vec<SecretKey> = (1..=4u8).map(|i| SecretKey::from_seed(&[i; 32])).collect();
        let c = config(&keys);
        let cfg = Config::for_ms(&c);
        let from = ReplicaIdx(0);
        let me = keys
            .iter()
            .find(|k| cfg.key(from) == Some(&k.public()))
            .expect("replica 0's key")
            .seed();
        let k = || SecretKey::from_seed(&me);
        let me = k();
        let vote = Signed::sign(
            &me,
            &cfg.instance,
            from,
            Payload::Prepare {
                view: View(0),
                seq: Seq(1),
                digest: Hash([1; 32]),
            },
        );
        let owner = SecretKey::from_seed(&[9; 32]);
        let held = || {
            Reply::Version(Some(Box::new(Version::sign(
                &owner,
                b"k",
                1,
                Some(b"v".to_vec()),
            ))))
        };

        let silent = Liar::new(vec![Behaviour::Silent], k());
        assert!(silent.pbft(&cfg.instance, 1, vote.clone()).is_empty());
        assert!(!silent.speaks());
        assert_eq!(
            Liar::new(vec![Behaviour::Silent], k()).store_reply(held()),
            None
        );

        let mut stale = Liar::new(vec![Behaviour::Stale], k());
        assert_eq!(stale.store_reply(held()), Some(Reply::Version(None)));

        let forge = Liar::new(vec![Behaviour::Forge], k());
        let forged = forge.pbft(&cfg.instance, 1, vote.clone());
        assert!(forged[0].verify(&cfg).is_err());
        match Liar::new(vec![Behaviour::Forge], k()).store_reply(held()) {
            Some(Reply::Version(Some(v))) => assert!(v.verify().is_err()),
            other => panic!("{other:?}"),
        }

        let mut rollback = Liar::new(vec![Behaviour::Rollback], k());
        let write = |n: u64| Request::Write {
            version: Box::new(Version::sign(&owner, b"k", n, Some(vec![n as u8]))),
        };
        assert_eq!(
            rollback.store_request(&write(1)),
            None,
            "the first is stored"
        );
        let later = write(2);
        let Request::Write { version } = &later else {
            unreachable!()
        };
        assert_eq!(
            rollback.store_request(&later),
            Some(Reply::Stored {
                held: version.key()
            }),
            "a later one is acknowledged and dropped"
        );
        assert_eq!(rollback.store_reply(held()), Some(held()), "reads pass");
        assert!(Liar::new(vec![Behaviour::Rollback], k()).delay().is_none());
        let slow = Liar::new(vec![Behaviour::Slow, Behaviour::Invent], k());
        assert!(slow.delay().is_some_and(|d| d > Duration::from_secs(1)));
        assert!(slow.does(Behaviour::Invent) && slow.speaks());

        let eq = Liar::new(vec![Behaviour::Equivocate], k());
        assert_eq!(eq.pbft(&cfg.instance, 2, vote.clone()), vec![vote.clone()]);
        let two = eq.pbft(&cfg.instance, 1, vote.clone());
        assert_eq!(two.len(), 2);
        let proof = Evidence::Pbft {
            a: Box::new(two[0].clone()),
            b: Box::new(two[1].clone()),
        };
        assert_eq!(
            proof.culprit(&c),
            Some(me.public()),
            "the two votes prove it"
        );
    }
}
