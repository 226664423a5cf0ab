//! What a Byzantine old replica tells the replicas that fetch from it and sweep against it.

use std::collections::BTreeMap;

use overlay::crypto::SecretKey;
use overlay::dbqs::fixture::{self, MADE_UP};
use overlay::dbqs::mem::MemStore;
use overlay::dbqs::object::{Version, content_id, value_digest};
use overlay::dbqs::replica::{Refusal, Reply, Request};
use overlay::id::Hash;
use overlay::transfer::page::{Held, ListPage, Listed, page_of};
use overlay::transfer::wire::{Answer, Ask};
use rand::Rng as _;

use crate::sim::Rng;

/// How the Byzantine node answers transfer questions (listings and objects).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferLie {
    /// Answers as a correct replica would.
    Honest,
    /// Answers nothing.
    Silent,
    /// Refuses everything.
    Refuse,
    /// Lists about half of what it holds and says the listing is complete; holds nothing
    /// when asked for an object.
    Hide,
    /// Lists and serves the first version it ever stored of each object.
    Stale,
    /// Lists every keyed object 1000 versions higher and serves forgeries of that number.
    Forge,
    /// Pages of one entry that never complete, or pages out of order.
    Partial,
    /// Lists content ids nobody holds and serves other bytes for content.
    WrongContent,
    /// Lists objects it made up beside what it holds, and serves them: chunks whose hash is
    /// their id and versions that verify under a key it made up, each with a credential of
    /// an authority it made up.
    Invent,
}

/// Every transfer behaviour, for drawing one.
pub const TRANSFER_LIES: [TransferLie; 9] = [
    TransferLie::Honest,
    TransferLie::Silent,
    TransferLie::Refuse,
    TransferLie::Hide,
    TransferLie::Stale,
    TransferLie::Forge,
    TransferLie::Partial,
    TransferLie::WrongContent,
    TransferLie::Invent,
];

/// What the Byzantine node says when an old replica asks whether it holds ranges completely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompleteLie {
    /// The truth.
    Honest,
    /// Yes to everything.
    Yes,
    /// No to everything.
    No,
    /// Nothing.
    Silent,
}

/// Every completeness behaviour, for drawing one.
pub const COMPLETE_LIES: [CompleteLie; 4] = [
    CompleteLie::Honest,
    CompleteLie::Yes,
    CompleteLie::No,
    CompleteLie::Silent,
];

impl CompleteLie {
    /// Whether old replicas can never learn from it that it holds a range (so they keep
    /// ranges it owns forever: the sweep waits for every owner).
    pub fn blocks_deletion(self) -> bool {
        matches!(self, CompleteLie::No | CompleteLie::Silent)
    }
}

/// What a replica holding `store` lists.
pub(super) fn listed(store: &MemStore) -> Vec<Listed> {
    let keyed = store.versions.values().map(Listed::keyed);
    let content = store.content.keys().map(|id| Listed {
        id: *id,
        held: Held::Content,
    });
    keyed.chain(content).collect()
}

/// The Byzantine node's answer to `ask` (`None`: silence). `honest` is what a correct replica
/// in its place would answer; `first` the first version it stored of each object.
pub(super) fn answer(
    lie: (TransferLie, CompleteLie),
    store: &MemStore,
    first: &BTreeMap<Hash, Version>,
    ask: &Ask,
    honest: Answer,
    rng: &mut Rng,
) -> Option<Answer> {
    match (lie.0, ask) {
        (_, Ask::Complete { ranges, .. }) => match lie.1 {
            CompleteLie::Honest => Some(honest),
            CompleteLie::Yes => Some(Answer::Complete(vec![true; ranges.len()])),
            CompleteLie::No => Some(Answer::Complete(vec![false; ranges.len()])),
            CompleteLie::Silent => None,
        },
        (TransferLie::Honest, _) => Some(honest),
        (TransferLie::Silent, _) => None,
        (TransferLie::Refuse, _) => Some(Answer::Refused("refused by a liar".into())),
        (l, Ask::List { req, .. }) => Some(Answer::Page(page(l, store, first, req, rng))),
        (l, Ask::Get { req, .. }) => Some(Answer::Object(object(l, store, first, req))),
    }
}

fn page(
    lie: TransferLie,
    store: &MemStore,
    first: &BTreeMap<Hash, Version>,
    req: &overlay::transfer::page::ListRequest,
    rng: &mut Rng,
) -> ListPage {
    let mut held = listed(store);
    match lie {
        TransferLie::Hide => {
            held.retain(|_| rng.gen_bool(0.5));
            let mut p = page_of(req, held);
            p.complete = true;
            p
        }
        TransferLie::Stale => {
            held.retain(|l| l.held == Held::Content);
            held.extend(first.values().map(Listed::keyed));
            page_of(req, held)
        }
        TransferLie::Forge => {
            for l in &mut held {
                if let Held::Keyed(k) = &mut l.held {
                    k.number += 1_000;
                }
            }
            page_of(req, held)
        }
        TransferLie::Partial => {
            let mut p = page_of(req, held);
            if rng.gen_bool(0.5) {
                p.entries.truncate(1);
                p.complete = false;
            } else {
                p.entries.reverse();
            }
            p
        }
        TransferLie::WrongContent => {
            for k in 0..3u8 {
                held.push(Listed {
                    id: content_id(&[k, rng.r#gen()]),
                    held: Held::Content,
                });
            }
            page_of(req, held)
        }
        TransferLie::Invent => {
            held.extend((0..MADE_UP).map(|k| Listed {
                id: fixture::made_up_content(k).id(),
                held: Held::Content,
            }));
            held.extend((0..MADE_UP).map(|k| Listed::keyed(&fixture::made_up_version(k))));
            page_of(req, held)
        }
        TransferLie::Honest | TransferLie::Silent | TransferLie::Refuse => page_of(req, held),
    }
}

fn object(
    lie: TransferLie,
    store: &MemStore,
    first: &BTreeMap<Hash, Version>,
    req: &Request,
) -> Reply {
    match (lie, req) {
        (TransferLie::Hide, Request::Read { .. }) => Reply::Version(None),
        (TransferLie::Hide, Request::GetContent { .. }) => Reply::Content(None),
        (TransferLie::Stale, Request::Read { id }) => {
            Reply::Version(first.get(id).cloned().map(Box::new))
        }
        (TransferLie::Forge, Request::Read { id }) => {
            let Some(mut v) = store.versions.get(id).cloned() else {
                return Reply::Version(None);
            };
            v.stamp.number += 1_000;
            v.value = Some(b"forged".to_vec());
            v.stamp.digest = value_digest(v.value.as_deref());
            Reply::Version(Some(Box::new(v)))
        }
        (TransferLie::Invent, Request::GetContent { id }) if !store.content.contains_key(id) => {
            let made = (0..MADE_UP)
                .map(fixture::made_up_content)
                .find(|c| c.id() == *id);
            Reply::Content(made.map(Box::new))
        }
        (TransferLie::Invent, Request::Read { id }) if !store.versions.contains_key(id) => {
            let made = (0..MADE_UP)
                .map(fixture::made_up_version)
                .find(|v| v.id() == *id);
            Reply::Version(made.map(Box::new))
        }
        (TransferLie::WrongContent, Request::GetContent { .. }) => {
            let key = SecretKey::from_seed(&[0xEE; 32]);
            let wrong = fixture::content(&key, b"not the content asked for".to_vec());
            Reply::Content(Some(Box::new(wrong)))
        }
        (_, Request::Read { id }) => Reply::Version(store.versions.get(id).cloned().map(Box::new)),
        (_, Request::GetContent { id }) => {
            Reply::Content(store.content.get(id).cloned().map(Box::new))
        }
        _ => Reply::Refused(Refusal::Storage(
            "only reads are served to transfers".into(),
        )),
    }
}
