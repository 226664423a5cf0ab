//! Transfers from four old replicas (f = 1), one of them lying in each way it can, over many
//! random stores and ranges: the new replica must end with every object of the range at its
//! latest version, nothing from outside the range, and nothing that does not verify.

use std::collections::BTreeMap;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use super::fetch::{Fetch, Out};
use super::page::{Held, ListPage, Listed, page_of};
use crate::crypto::SecretKey;
use crate::dbqs::client::Group;
use crate::dbqs::fixture;
use crate::dbqs::mem::MemStore;
use crate::dbqs::object::{Version, VersionKey, content_id, value_digest};
use crate::dbqs::replica::{self, Reply, Request};
use crate::id::Hash;
use crate::ring::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Liar {
    Honest,
    Silent,
    /// Lists nothing and answers nothing held.
    Hide,
    /// Lists every keyed object 100 versions higher and answers with forgeries.
    ForgeHigh,
    /// Lists ids nobody holds.
    Fake,
    /// One entry a page, never complete.
    Tiny,
    /// Pages out of order.
    BadPage,
    /// Serves other bytes for content.
    WrongContent,
}

const LIARS: [Liar; 8] = [
    Liar::Honest,
    Liar::Silent,
    Liar::Hide,
    Liar::ForgeHigh,
    Liar::Fake,
    Liar::Tiny,
    Liar::BadPage,
    Liar::WrongContent,
];

fn listed(s: &MemStore) -> Vec<Listed> {
    let mut l: Vec<Listed> = s.versions.values().map(Listed::keyed).collect();
    l.extend(s.content.keys().map(|id| Listed {
        id: *id,
        held: Held::Content,
    }));
    l
}

struct Old {
    stores: Vec<MemStore>,
    liar: (usize, Liar),
    latest: BTreeMap<Hash, VersionKey>,
    content: BTreeMap<Hash, Vec<u8>>,
}

fn hash(rng: &mut ChaCha20Rng) -> Hash {
    let mut h = [0u8; 32];
    rng.fill_bytes(&mut h);
    Hash(h)
}

impl Old {
    /// Objects written at 2f+1 = 3 replicas each at their latest version; the fourth holds
    /// an older version or nothing.
    fn new(rng: &mut ChaCha20Rng, liar: (usize, Liar)) -> Old {
        let mut stores = vec![MemStore::default(); 4];
        let mut latest = BTreeMap::new();
        let mut content = BTreeMap::new();
        let owners: Vec<SecretKey> = (0..3).map(|_| SecretKey::generate(&mut *rng)).collect();
        for k in 0..(5 + rng.next_u32() % 40) {
            let owner = &owners[k as usize % 3];
            let name = format!("obj-{k}").into_bytes();
            let top = 1 + u64::from(rng.next_u32() % 4);
            let lag = (rng.next_u32() % 4) as usize;
            let newest = fixture::version(owner, &name, top, Some(format!("v{top}").into_bytes()));
            latest.insert(newest.id(), newest.key());
            for (r, store) in stores.iter_mut().enumerate() {
                let n = if r == lag { top - 1 } else { top };
                if n == 0 {
                    continue;
                }
                let v = fixture::version(owner, &name, n, Some(format!("v{n}").into_bytes()));
                let version = Box::new(v);
                replica::handle(store, Request::Write { version });
            }
        }
        for c in 0..(rng.next_u32() % 10) {
            let bytes = format!("content {c} {}", rng.next_u32()).into_bytes();
            let lag = (rng.next_u32() % 4) as usize;
            for (r, s) in stores.iter_mut().enumerate() {
                if r != lag {
                    let c = fixture::content(&owners[0], bytes.clone());
                    s.content.insert(content_id(&bytes), c);
                }
            }
            content.insert(content_id(&bytes), bytes);
        }
        Old {
            stores,
            liar,
            latest,
            content,
        }
    }

    fn page(
        &self,
        to: usize,
        req: &super::page::ListRequest,
        rng: &mut ChaCha20Rng,
    ) -> Option<ListPage> {
        let honest = page_of(req, listed(&self.stores[to]));
        let liar = if self.liar.0 == to {
            self.liar.1
        } else {
            Liar::Honest
        };
        match liar {
            Liar::Silent => None,
            Liar::Hide => Some(ListPage {
                entries: Vec::new(),
                complete: true,
            }),
            Liar::ForgeHigh => {
                let mut p = honest;
                for l in &mut p.entries {
                    if let Held::Keyed(k) = &mut l.held {
                        k.number += 100;
                    }
                }
                Some(p)
            }
            Liar::Fake => {
                let mut all = listed(&self.stores[to]);
                for _ in 0..5 {
                    all.push(Listed {
                        id: hash(rng),
                        held: Held::Keyed(VersionKey {
                            number: 7,
                            digest: Hash([1; 32]),
                        }),
                    });
                }
                Some(page_of(req, all))
            }
            Liar::Tiny => {
                let mut p = honest;
                p.entries.truncate(1);
                p.complete = p.entries.is_empty() && p.complete;
                Some(p)
            }
            Liar::BadPage => {
                let mut p = honest;
                p.entries.reverse();
                p.complete = false;
                Some(p)
            }
            Liar::Honest | Liar::WrongContent => Some(honest),
        }
    }

    fn answer(&mut self, to: usize, req: Request) -> Option<Reply> {
        let liar = if self.liar.0 == to {
            self.liar.1
        } else {
            Liar::Honest
        };
        match (liar, &req) {
            (Liar::Silent, _) => None,
            (Liar::Hide, Request::Read { .. }) => Some(Reply::Version(None)),
            (Liar::Hide, Request::GetContent { .. }) => Some(Reply::Content(None)),
            (Liar::ForgeHigh, Request::Read { id }) => {
                let mut v = self.stores[to].versions.get(id)?.clone();
                v.stamp.number += 100;
                v.value = Some(b"forged".to_vec());
                v.stamp.digest = value_digest(v.value.as_deref());
                Some(Reply::Version(Some(Box::new(v))))
            }
            (Liar::WrongContent, Request::GetContent { .. }) => {
                let wrong = fixture::content(&SecretKey::from_seed(&[3; 32]), b"wrong".to_vec());
                Some(Reply::Content(Some(Box::new(wrong))))
            }
            _ => Some(replica::handle(&mut self.stores[to], req)),
        }
    }
}

/// Runs a transfer to completion (or to its first progress report when `stop_early`);
/// returns the last progress cursor and whether it finished.
fn run(
    old: &mut Old,
    new: &mut MemStore,
    range: Range,
    cursor: Option<Hash>,
    stop_early: bool,
    rng: &mut ChaCha20Rng,
) -> (Option<Hash>, bool) {
    let (mut f, outs) = Fetch::start(Group::of(4), range, cursor, 8, fixture::authority_key());
    let mut queue = outs;
    let mut last = cursor;
    for _round in 0..10_000 {
        if queue.is_empty() {
            if f.is_done() {
                return (last, true);
            }
            queue = f.on_timer();
            continue;
        }
        let mut next = Vec::new();
        for o in queue {
            match o {
                Out::List { to, req } => {
                    if let Some(p) = old.page(to, &req, rng) {
                        next.extend(f.on_page(to, &req, p));
                    }
                }
                Out::Get { to, req } => {
                    let id = match &req {
                        Request::Read { id } | Request::GetContent { id } => *id,
                        _ => panic!("unexpected request {req:?}"),
                    };
                    if let Some(r) = old.answer(to, req) {
                        next.extend(f.on_reply(to, id, r));
                    }
                }
                Out::StoreVersion(v) => {
                    assert!(v.verify().is_ok(), "stored a version that does not verify");
                    replica::handle(new, Request::Write { version: v });
                    next.extend(f.applied(1));
                }
                Out::StoreContent(b) => {
                    new.content.insert(b.id(), *b);
                    next.extend(f.applied(1));
                }
                Out::Progress(p) => {
                    last = p.cursor;
                    if stop_early && !f.is_done() {
                        return (last, false);
                    }
                }
                Out::Done => return (last, true),
            }
        }
        queue = next;
    }
    panic!("the transfer did not finish");
}

fn check(old: &Old, new: &MemStore, range: &Range, what: &str) {
    for (id, key) in &old.latest {
        let got = new.versions.get(id).map(Version::key);
        if range.contains(id) {
            assert_eq!(
                got,
                Some(*key),
                "{what}: object {id:?} not at its latest version"
            );
        } else {
            assert_eq!(got, None, "{what}: object {id:?} from outside the range");
        }
    }
    for (id, bytes) in &old.content {
        let got = new.content.get(id);
        if range.contains(id) {
            let got = got.map(|c| &c.bytes);
            assert_eq!(got, Some(bytes), "{what}: content {id:?} missing");
        } else {
            assert_eq!(got, None, "{what}: content {id:?} from outside the range");
        }
    }
    assert!(new.content.iter().all(|(id, c)| c.id() == *id));
}

#[test]
fn every_object_of_the_range_arrives_at_its_latest_version_whatever_one_old_replica_does() {
    for seed in 0..300u64 {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let liar = (
            (rng.next_u32() % 4) as usize,
            LIARS[(seed % LIARS.len() as u64) as usize],
        );
        let mut old = Old::new(&mut rng, liar);
        let range = if seed % 5 == 0 {
            Range::full()
        } else {
            Range {
                start: hash(&mut rng),
                end: hash(&mut rng),
            }
        };
        let what = format!("seed {seed}, liar {liar:?}");
        let mut new = MemStore::default();
        let (_, done) = run(&mut old, &mut new, range, None, false, &mut rng);
        assert!(done, "{what}");
        check(&old, &new, &range, &what);
    }
}

#[test]
fn a_transfer_resumes_from_its_cursor() {
    for seed in 0..100u64 {
        let mut rng = ChaCha20Rng::seed_from_u64(1000 + seed);
        let liar = ((rng.next_u32() % 4) as usize, LIARS[(seed % 8) as usize]);
        let mut old = Old::new(&mut rng, liar);
        let range = Range::full();
        let mut new = MemStore::default();
        let mut cursor = None;
        let mut rounds = 0;
        loop {
            let (c, done) = run(&mut old, &mut new, range, cursor, true, &mut rng);
            rounds += 1;
            if done {
                break;
            }
            cursor = c;
            assert!(rounds < 1000, "no progress");
        }
        check(
            &old,
            &new,
            &range,
            &format!("resumed, seed {seed}, liar {liar:?}"),
        );
    }
}

mod mover_admit {
    use std::collections::BTreeMap;

    use super::super::mover::{Admit, EpochLog, Mover, Out, Pending, Saved, Settings};
    use super::super::wire::Ask;
    use crate::crypto::SecretKey;
    use crate::id::{Epoch, Hash, NodeId};
    use crate::ring::{Range, RangeSet};

    fn ids(from: u8, n: u8) -> Vec<NodeId> {
        (from..from + n)
            .map(|i| NodeId::of(&SecretKey::from_seed(&[i; 32]).public()))
            .collect()
    }

    fn pending(source: u64, group: Vec<NodeId>, until: Option<u64>) -> Pending {
        Pending {
            range: Range::full(),
            source: Epoch(source),
            group,
            since: Epoch(source + 1),
            until: until.map(Epoch),
            cursor: None,
            objects: 0,
            bytes: 0,
        }
    }

    /// A replica that owns a range again while an old fetch of it goes on for the past must
    /// fetch a requested object from the range's current source: the older group may lack
    /// writes completed since, and serving what it gives would be a stale read.
    #[test]
    fn an_object_asked_for_is_fetched_from_the_current_source_not_one_kept_for_the_past() {
        let cfg = crate::config::tests::config(6, &[1, 2, 3, 4, 5], 1);
        let me = cfg.members[0].id();
        let full = RangeSet::of(&Range::full());
        let saved = Saved {
            epoch: Some(Epoch(6)),
            log: BTreeMap::from([(
                Epoch(6),
                EpochLog {
                    owned: full.clone(),
                    incomplete: full.clone(),
                },
            )]),
            pending: vec![
                pending(1, ids(10, 4), Some(3)),
                pending(5, ids(20, 4), None),
            ],
            dirty: full,
        };
        let settings = Settings {
            running_max: 0,
            ..Settings::default()
        };
        let mut m = Mover::new(me, crate::dbqs::fixture::authority_key(), settings, saved);
        assert!(m.on_epoch(&cfg, None).is_empty());
        let (admit, outs) = m.admit(&Hash([9; 32]), 1);
        assert_eq!(admit, Admit::Parked);
        let sources: Vec<Epoch> = outs
            .iter()
            .filter_map(|o| match o {
                Out::Send {
                    ask: Ask::List { source, .. },
                    ..
                } => Some(*source),
                _ => None,
            })
            .collect();
        assert_eq!(sources, vec![Epoch(5); 4], "{outs:?}");
    }
}

/// The attacks of issue 15 on a transfer, each at the step where it used to work.
mod attacks {
    use super::super::fetch::{Fetch, Out};
    use super::super::page::{ListPage, page_of};
    use super::listed;
    use crate::cert::{Capabilities, Certificate};
    use crate::crypto::SecretKey;
    use crate::dbqs::client::Group;
    use crate::dbqs::fixture;
    use crate::dbqs::mem::MemStore;
    use crate::dbqs::object::{Version, VersionKey};
    use crate::dbqs::provenance::Content;
    use crate::dbqs::replica::{self, Request};
    use crate::id::Hash;
    use crate::ring::Range;
    use crate::time::Timestamp;

    fn write(store: &mut MemStore, v: &Version) {
        let version = Box::new(v.clone());
        replica::handle(store, Request::Write { version });
    }

    /// The highest version among the versions a fetch handed over for storing.
    fn stored_key(outs: &[Out]) -> Option<VersionKey> {
        outs.iter()
            .filter_map(|o| match o {
                Out::StoreVersion(v) => Some(v.key()),
                _ => None,
            })
            .max()
    }

    /// Old group {A, B, C, D}: v5 at A, B and C, v4 at D. The answers of A, B and C are
    /// slow: the mover's tick fires before they arrive, again and again, until the fetch
    /// asks D, which answers at once. Then the late answers arrive. The new replica must end
    /// with v5: with v4, the new group {B, C, D, E} holds v5 at two replicas only, and with
    /// C lying a quorum {C, D, E} reads v4.
    #[test]
    fn a_late_answer_from_the_best_holder_wins_over_a_lower_claim_asked_after_a_tick() {
        let owner = SecretKey::from_seed(&[21; 32]);
        let v5 = fixture::version(&owner, b"k", 5, Some(b"five".to_vec()));
        let v4 = fixture::version(&owner, b"k", 4, Some(b"four".to_vec()));
        let mut old = vec![MemStore::default(); 4];
        for s in &mut old[..3] {
            write(s, &v5);
        }
        write(&mut old[3], &v4);
        let range = Range::full();
        let (mut f, outs) = Fetch::start(Group::of(4), range, None, 8, fixture::authority_key());
        let mut all = Vec::new();
        let mut held_back = Vec::new();
        let mut queue = outs;
        for tick in 0..12 {
            let mut next = Vec::new();
            for o in std::mem::take(&mut queue) {
                match o {
                    Out::List { to, req } => {
                        next.extend(f.on_page(to, &req, page_of(&req, listed(&old[to]))));
                    }
                    // A, B and C answer only after the ticks.
                    Out::Get { to, req } if to < 3 => held_back.push((to, req)),
                    Out::Get { to, req } => {
                        let id = v4.id();
                        let r = replica::handle(&mut old[to], req);
                        next.extend(f.on_reply(to, id, r));
                    }
                    Out::StoreVersion(v) => {
                        all.push(Out::StoreVersion(v));
                        next.extend(f.applied(1));
                    }
                    other => all.push(other),
                }
            }
            queue = next;
            if queue.is_empty() && tick < 6 {
                queue = f.on_timer();
            }
        }
        for (to, req) in held_back {
            let r = replica::handle(&mut old[to], req);
            let outs = f.on_reply(to, v5.id(), r);
            for o in outs {
                if let Out::StoreVersion(v) = o {
                    all.push(Out::StoreVersion(v));
                    f.applied(1);
                } else {
                    all.push(o);
                }
            }
        }
        assert!(
            stored_key(&all).is_some_and(|k| k >= v5.key()),
            "the new replica ends below v5: {:?}",
            stored_key(&all)
        );
    }

    /// One Byzantine old replica lists chunks and keyed objects it made up, with ids inside
    /// the range, and serves them: the chunks' hashes are their ids, the versions verify
    /// under the keys it made up, and each carries a credential of an authority it made up.
    /// A correct old replica's page is slow, so at the boundary decision only two correct
    /// pages say the objects are absent. Nothing of that may be stored: no client ever
    /// stored it, and content is never deleted.
    #[test]
    fn objects_one_old_replica_made_up_are_not_stored() {
        let owner = SecretKey::from_seed(&[22; 32]);
        let real = fixture::version(&owner, b"real", 1, Some(b"r".to_vec()));
        let mut old = vec![MemStore::default(); 4];
        for s in &mut old {
            write(s, &real);
        }
        let stranger = SecretKey::from_seed(&[23; 32]);
        let fake = Certificate::client(
            &SecretKey::from_seed(&[24; 32]),
            stranger.public(),
            "made up",
            Capabilities::parse("put,get").unwrap(),
            (Timestamp(0), Timestamp(u64::MAX)),
        );
        for i in 0..40u32 {
            let b = format!("junk {i}").into_bytes();
            let c = Content::sign(&stranger, fake.clone(), b);
            old[0].content.insert(c.id(), c);
            let v = Version::sign(&stranger, &i.to_be_bytes(), 9, Some(b"junk".to_vec()))
                .with_credential(fake.clone());
            old[0].versions.insert(v.id(), v);
        }
        let range = Range::full();
        let (mut f, outs) = Fetch::start(Group::of(4), range, None, 16, fixture::authority_key());
        let mut stored: Vec<Hash> = Vec::new();
        let mut queue = outs;
        let mut slow: Vec<(u32, super::super::page::ListRequest)> = Vec::new();
        let mut tick = 0;
        for _ in 0..10_000 {
            if queue.is_empty() {
                if f.is_done() {
                    break;
                }
                queue = f.on_timer();
                tick += 1;
                // Replica 3's pages come two ticks late.
                let (late, early): (Vec<_>, Vec<_>) = std::mem::take(&mut slow)
                    .into_iter()
                    .partition(|s| s.0 + 2 <= tick);
                slow = early;
                for (_, req) in late {
                    let p: ListPage = page_of(&req, listed(&old[3]));
                    queue.extend(f.on_page(3, &req, p));
                }
                continue;
            }
            let mut next = Vec::new();
            for o in std::mem::take(&mut queue) {
                match o {
                    Out::List { to: 3, req } => slow.push((tick, req)),
                    Out::List { to, req } => {
                        let p: ListPage = page_of(&req, listed(&old[to]));
                        next.extend(f.on_page(to, &req, p));
                    }
                    Out::Get { to, req } => {
                        let id = match &req {
                            Request::Read { id } | Request::GetContent { id } => *id,
                            _ => unreachable!(),
                        };
                        let r = replica::handle(&mut old[to], req);
                        next.extend(f.on_reply(to, id, r));
                    }
                    Out::StoreContent(c) => {
                        stored.push(c.id());
                        next.extend(f.applied(1));
                    }
                    Out::StoreVersion(v) => {
                        if v.id() != real.id() {
                            stored.push(v.id());
                        }
                        next.extend(f.applied(1));
                    }
                    Out::Progress(_) | Out::Done => {}
                }
            }
            queue = next;
        }
        assert!(f.is_done());
        assert!(
            stored.is_empty(),
            "{} made-up objects were stored",
            stored.len()
        );
        assert!(
            f.take_refused().answers > 0,
            "the liar's answers were not refused"
        );
    }
}
