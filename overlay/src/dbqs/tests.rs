//! Reads and writes against four in-memory replicas, one of them lying in each way it can.

use std::collections::BTreeMap;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::client::{Action, Group, Outcome, Read, Write};
use super::content::{GetContent, PutContent};
use super::fixture;
use super::mem::MemStore;
use super::object::{Version, VersionKey, content_id, keyed_id, value_digest};
use super::provenance::ContentProof;
use super::replica::{self, Refusal, Reply, Request, Store};
use crate::crypto::SecretKey;
use crate::id::Hash;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Liar {
    /// Answers nothing.
    Silent,
    /// Answers reads with the first version it ever stored, acknowledges writes it drops.
    Stale,
    /// Answers reads with a higher version it made up (its signature does not verify).
    Forge,
    /// Refuses everything.
    Refuse,
}

struct Group4 {
    stores: Vec<MemStore>,
    liar: Option<(usize, Liar)>,
    first: BTreeMap<Hash, Version>,
}

impl Group4 {
    fn new(liar: Option<(usize, Liar)>) -> Group4 {
        Group4 {
            stores: vec![MemStore::default(); 4],
            liar,
            first: BTreeMap::new(),
        }
    }

    fn answer(&mut self, to: usize, req: Request) -> Option<Reply> {
        let liar = self.liar.filter(|(l, _)| *l == to).map(|(_, b)| b);
        match (liar, &req) {
            (Some(Liar::Silent), _) => None,
            (Some(Liar::Refuse), _) => Some(Reply::Refused(Refusal::Storage("no".into()))),
            (Some(Liar::Stale), Request::Read { id }) => {
                Some(Reply::Version(self.first.get(id).cloned().map(Box::new)))
            }
            (Some(Liar::Stale), Request::Write { version }) => {
                self.first
                    .entry(version.id())
                    .or_insert((**version).clone());
                Some(Reply::Stored {
                    held: version.key(),
                })
            }
            (Some(Liar::Forge), Request::Read { id }) => {
                let mut v = self.stores[to].versions.get(id).cloned()?;
                v.stamp.number += 10;
                v.value = Some(b"forged".to_vec());
                v.stamp.digest = value_digest(v.value.as_deref());
                Some(Reply::Version(Some(Box::new(v))))
            }
            _ => Some(replica::handle(&mut self.stores[to], req)),
        }
    }

    /// Runs an operation to completion, delivering in replica order; when nothing is left
    /// to deliver, fires the operation's timer (`None`), as a host would; `None` if it
    /// still stalls after a few timers.
    fn run(
        &mut self,
        acts: Vec<Action>,
        on: &mut dyn FnMut(Option<(usize, Reply)>) -> Vec<Action>,
    ) -> Option<Outcome> {
        let mut queue = acts;
        let mut timers = 0;
        loop {
            if queue.is_empty() {
                if timers == 3 {
                    return None;
                }
                timers += 1;
                queue = on(None);
                continue;
            }
            let mut next = Vec::new();
            for a in queue {
                match a {
                    Action::Done(o) => return Some(o),
                    Action::Send { to, req } => {
                        if let Some(r) = self.answer(to, req) {
                            next.extend(on(Some((to, r))));
                        }
                    }
                }
            }
            queue = next;
        }
    }

    /// Operations ask 2f+1 replicas first; starting at the liar makes sure it is asked.
    fn asked_first(&self) -> usize {
        self.liar.map_or(0, |(l, _)| l)
    }

    fn write(&mut self, owner: &SecretKey, name: &[u8], value: Option<&[u8]>) -> Outcome {
        let (mut w, acts) = Write::start(
            Group::of(4),
            SecretKey::from_seed(&owner.seed()),
            name.to_vec(),
            value.map(<[u8]>::to_vec),
            self.asked_first(),
        );
        self.run(acts, &mut |e| match e {
            Some((from, x)) => w.on_reply(from, x),
            None => w.on_timer(),
        })
        .expect("the write finishes")
    }

    fn read(&mut self, id: Hash) -> Outcome {
        let (mut r, acts) = Read::start(Group::of(4), id, self.asked_first());
        self.run(acts, &mut |e| match e {
            Some((from, x)) => r.on_reply(from, x),
            None => r.on_timer(),
        })
        .expect("the read finishes")
    }

    fn holding(&self, id: &Hash, key: VersionKey) -> usize {
        self.stores
            .iter()
            .filter(|s| s.versions.get(id).is_some_and(|v| v.key() >= key))
            .count()
    }
}

fn owner() -> SecretKey {
    SecretKey::generate(&mut ChaCha20Rng::seed_from_u64(1))
}

fn proof_of(bytes: &[u8]) -> ContentProof {
    fixture::proof(&owner(), content_id(bytes))
}

fn put_content(bytes: Vec<u8>) -> Request {
    let proof = Box::new(proof_of(&bytes));
    Request::PutContent { bytes, proof }
}

fn value_of(o: &Outcome) -> Option<Vec<u8>> {
    match o {
        Outcome::Read(Some(v)) => v.value.clone(),
        _ => None,
    }
}

#[test]
fn a_write_then_a_read_returns_it_whatever_one_replica_does() {
    for liar in [
        None,
        Some((0, Liar::Silent)),
        Some((1, Liar::Stale)),
        Some((2, Liar::Forge)),
        Some((3, Liar::Refuse)),
    ] {
        let mut g = Group4::new(liar);
        let k = owner();
        let id = keyed_id(&k.public(), b"greeting");
        assert_eq!(g.read(id), Outcome::Read(None), "{liar:?}");
        for (i, text) in [&b"hello"[..], b"bonjour", b"hallo"].iter().enumerate() {
            let o = g.write(&k, b"greeting", Some(text));
            let Outcome::Written(key) = o else {
                panic!("{liar:?}: {o:?}")
            };
            assert_eq!(key.number, i as u64 + 1, "{liar:?}");
            assert_eq!(value_of(&g.read(id)).as_deref(), Some(*text), "{liar:?}");
        }
        // A delete is a signed tombstone, the next version.
        g.write(&k, b"greeting", None);
        match g.read(id) {
            Outcome::Read(Some(v)) => assert!(v.value.is_none() && v.stamp.number == 4),
            o => panic!("{liar:?}: {o:?}"),
        }
    }
}

#[test]
fn a_read_writes_back_where_replicas_lag() {
    let mut g = Group4::new(None);
    let k = owner();
    let id = keyed_id(&k.public(), b"x");
    g.write(&k, b"x", Some(b"one"));
    // Only replica 0 gets version 2 (its writer crashed mid-write).
    let v2 = Version::sign(&k, b"x", 2, Some(b"two".to_vec()));
    replica::handle(
        &mut g.stores[0],
        Request::Write {
            version: Box::new(v2.clone()),
        },
    );
    assert_eq!(g.holding(&id, v2.key()), 1);
    assert_eq!(value_of(&g.read(id)).as_deref(), Some(&b"two"[..]));
    assert!(
        g.holding(&id, v2.key()) >= 3,
        "the read returned version 2 only once a quorum held it"
    );
}

#[test]
fn two_writers_with_one_key_order_their_versions_alike_everywhere() {
    let k = owner();
    let a = Version::sign(&k, b"x", 1, Some(b"a".to_vec()));
    let b = Version::sign(&k, b"x", 1, Some(b"b".to_vec()));
    let mut s1 = MemStore::default();
    let mut s2 = MemStore::default();
    for (s, first, second) in [(&mut s1, &a, &b), (&mut s2, &b, &a)] {
        replica::handle(
            s,
            Request::Write {
                version: Box::new(first.clone()),
            },
        );
        replica::handle(
            s,
            Request::Write {
                version: Box::new(second.clone()),
            },
        );
    }
    let id = a.id();
    assert_eq!(
        s1.versions[&id], s2.versions[&id],
        "arrival order must not matter"
    );
}

#[test]
fn a_replica_sent_a_second_value_for_a_version_it_holds_proves_the_owner_equivocated() {
    let k = owner();
    let a = Version::sign(&k, b"x", 1, Some(b"a".to_vec()));
    let b = Version::sign(&k, b"x", 1, Some(b"b".to_vec()));
    let c = Version::sign(&k, b"x", 2, Some(b"c".to_vec()));
    let write = |v: &Version| Request::Write {
        version: Box::new(v.clone()),
    };
    let mut s = MemStore::default();
    assert!(replica::handle_noting(&mut s, write(&a)).1.is_none());
    assert!(
        replica::handle_noting(&mut s, write(&a)).1.is_none(),
        "the same version again proves nothing"
    );
    let (a_stamp, b_stamp) = (a.stamp.clone(), b.stamp.clone());
    let (_, evidence) = replica::handle_noting(&mut s, write(&b));
    let evidence = evidence.expect("two values for version 1");
    assert!(
        matches!(&evidence, crate::ms::Evidence::Versions { a: held, b: sent }
        if held.0 == a_stamp && sent.0 == b_stamp),
        "{evidence:?}"
    );
    let (_, next) = replica::handle_noting(&mut s, write(&c));
    assert!(next.is_none(), "a higher version is a normal write");
    assert_eq!(s.version(&a.id()).unwrap().map(|v| v.key()), Some(c.key()));
}

#[test]
fn a_replica_refuses_bad_versions_and_keeps_what_it_had() {
    let k = owner();
    let mut s = MemStore::default();
    let good = Version::sign(&k, b"x", 3, Some(b"v".to_vec()));
    replica::handle(
        &mut s,
        Request::Write {
            version: Box::new(good.clone()),
        },
    );
    let mut forged = Version::sign(&k, b"x", 9, Some(b"w".to_vec()));
    forged.value = Some(b"other".to_vec());
    let mut resigned = forged.clone();
    resigned.stamp.digest = value_digest(resigned.value.as_deref());
    let stranger = SecretKey::generate(&mut ChaCha20Rng::seed_from_u64(2));
    let mut stolen = Version::sign(&stranger, b"x", 9, Some(b"w".to_vec()));
    stolen.stamp.owner = k.public();
    let zero = Version::sign(&k, b"x", 0, Some(b"w".to_vec()));
    for bad in [forged, resigned, stolen, zero] {
        let r = replica::handle(
            &mut s,
            Request::Write {
                version: Box::new(bad),
            },
        );
        assert!(matches!(r, Reply::Refused(Refusal::BadVersion(_))), "{r:?}");
    }
    // An older version is not an error, but changes nothing.
    let old = Version::sign(&k, b"x", 2, Some(b"old".to_vec()));
    assert_eq!(
        replica::handle(
            &mut s,
            Request::Write {
                version: Box::new(old)
            }
        ),
        Reply::Stored { held: good.key() }
    );
    assert_eq!(s.versions[&good.id()], good);
}

#[test]
fn content_objects_are_named_by_their_hash_and_bounded() {
    let mut s = MemStore::default();
    let r = replica::handle(&mut s, put_content(b"blob".to_vec()));
    assert_eq!(
        r,
        Reply::ContentStored {
            id: content_id(b"blob")
        }
    );
    let big = vec![0u8; replica::CONTENT_BYTES_MAX + 1];
    let r = replica::handle(&mut s, put_content(big));
    assert!(matches!(r, Reply::Refused(Refusal::TooLarge(_))), "{r:?}");
    assert_eq!(s.content.len(), 1);
}

#[test]
fn f_plus_one_refusals_end_the_operation_with_the_reason() {
    let mut g = Group4::new(Some((3, Liar::Refuse)));
    // A second replica refuses too: now a correct one must have.
    g.liar = Some((3, Liar::Refuse));
    let k = owner();
    let id = keyed_id(&k.public(), b"x");
    let (mut r, acts) = Read::start(Group::of(4), id, 2);
    let mut out = Vec::new();
    for a in acts {
        if let Action::Send { to, .. } = a {
            let reply = if to >= 2 {
                Reply::Refused(Refusal::Storage("disk full".into()))
            } else {
                Reply::Version(None)
            };
            out.extend(r.on_reply(to, reply));
        }
    }
    assert_eq!(
        out,
        vec![Action::Done(Outcome::Refused(Refusal::Storage(
            "disk full".into()
        )))]
    );
}

#[test]
fn content_is_read_from_the_first_replica_with_a_valid_copy() {
    let bytes = b"immutable bytes".to_vec();
    let id = content_id(&bytes);
    for liar in [
        None,
        Some((0, Liar::Silent)),
        Some((0, Liar::Refuse)),
        Some((1, Liar::Stale)),
    ] {
        let mut g = Group4::new(liar);
        let (mut p, acts) = PutContent::start(Group::of(4), bytes.clone(), proof_of(&bytes));
        let out = g.run(acts, &mut |e| match e {
            Some((from, x)) => p.on_reply(from, x),
            None => p.on_timer(),
        });
        assert_eq!(out, Some(Outcome::ContentStored(id)), "{liar:?}");
        // A replica that serves wrong bytes is passed over.
        g.stores[0]
            .content
            .insert(id, fixture::content(&owner(), b"wrong".to_vec()));
        let (mut c, acts) = GetContent::start(Group::of(4), id, 0);
        let mut out = g.run(acts, &mut |e| match e {
            Some((from, x)) => c.on_reply(from, x),
            None => c.on_timer(),
        });
        if out.is_none() {
            // The silent replica: the host's timer moves on to the next.
            let acts = c.on_timer();
            out = g.run(acts, &mut |e| match e {
                Some((from, x)) => c.on_reply(from, x),
                None => c.on_timer(),
            });
        }
        assert_eq!(out, Some(Outcome::Content(Some(bytes.clone()))), "{liar:?}");
    }
}

#[test]
fn content_nobody_holds_is_reported_missing_after_every_replica_answered() {
    let mut g = Group4::new(Some((3, Liar::Stale)));
    let id = content_id(b"never stored");
    let (mut c, acts) = GetContent::start(Group::of(4), id, 2);
    let out = g.run(acts, &mut |e| match e {
        Some((from, x)) => c.on_reply(from, x),
        None => c.on_timer(),
    });
    assert_eq!(out, Some(Outcome::Content(None)));
}

mod access {
    use std::collections::BTreeMap;

    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use crate::cert::{Capabilities, CertBody, CertContent, Certificate};
    use crate::config::{Configuration, Member, choose_ms_group};
    use crate::crypto::SecretKey;
    use crate::dbqs::access::Gate;
    use crate::dbqs::blob::{Blob, Manifest};
    use crate::dbqs::object::Version;
    use crate::dbqs::replica::{Refusal, Request};
    use crate::dbqs::wire::StoreRequest;
    use crate::id::{ClientId, Epoch, Hash, NodeId};
    use crate::ring::Ring;
    use crate::time::Timestamp;

    type Check = Box<dyn Fn(&StoreRequest) -> Result<(), Refusal>>;

    fn key(seed: u64) -> SecretKey {
        SecretKey::generate(&mut ChaCha20Rng::seed_from_u64(seed))
    }

    fn config() -> Configuration {
        let mut members: Vec<Member> = (0..4)
            .map(|s| Member {
                key: key(100 + s).public(),
                addrs: vec![format!("/ip4/127.0.0.1/tcp/{}", 7000 + s)],
            })
            .collect();
        members.sort_by_key(Member::id);
        let ids: Vec<NodeId> = members.iter().map(Member::id).collect();
        Configuration {
            epoch: Epoch(3),
            ms_group: choose_ms_group(&ids, 1, &Hash([0; 32])),
            members,
            f: 1,
            f_ms: 1,
            vnodes: 8,
            revoked: BTreeMap::new(),
        }
    }

    fn credential(authority: &SecretKey, client: &SecretKey, caps: &str) -> Certificate {
        Certificate::issue(
            authority,
            CertContent {
                body: CertBody::Client {
                    key: client.public(),
                    name: "app".into(),
                    caps: Capabilities::parse(caps).unwrap(),
                },
                issued_at: Timestamp(100),
                not_before: Timestamp(100),
                not_after: Timestamp(200),
            },
        )
    }

    /// A write of a version signed by `owner` carrying the owner's `put,get` credential.
    fn write(client: &SecretKey, value: Vec<u8>) -> Request {
        let cred = credential(&key(1), client, "put,get");
        Request::Write {
            version: Box::new(Version::sign(client, b"k", 1, Some(value)).with_credential(cred)),
        }
    }

    #[test]
    fn every_check_refuses_with_its_own_reason() {
        let authority = key(1);
        let client = key(2);
        let mut config = config();
        let ring = Ring::of(&config);
        let me = config.members[0].id();
        let gate = |config: &Configuration, now: u64| -> Check {
            let config = config.clone();
            let ring = ring.clone();
            let authority = authority.public();
            let client_key = client.public();
            Box::new(move |m: &StoreRequest| {
                Gate {
                    me,
                    config: &config,
                    ring: &ring,
                    authority: &authority,
                    now: Timestamp(now),
                }
                .admit(m, Some(&client_key), &|_| false)
                .map(|_| ())
            })
        };
        let ok_value = Blob::Inline(b"v".to_vec()).to_bytes();
        let msg = |cred: Certificate, epoch: u64, req: Request| StoreRequest {
            epoch: Epoch(epoch),
            credential: cred,
            req,
        };
        let good = credential(&authority, &client, "put,get");
        let check = gate(&config, 150);
        assert_eq!(
            check(&msg(good.clone(), 3, write(&client, ok_value.clone()))),
            Ok(())
        );
        assert!(matches!(
            check(&msg(good.clone(), 2, write(&client, ok_value.clone()))),
            Err(Refusal::StaleEpoch { .. })
        ));
        assert!(matches!(
            check(&msg(good.clone(), 4, write(&client, ok_value.clone()))),
            Err(Refusal::ReplicaBehind { .. })
        ));
        let forged = credential(&key(9), &client, "put,get");
        assert!(matches!(
            check(&msg(forged, 3, write(&client, ok_value.clone()))),
            Err(Refusal::BadCredential(_))
        ));
        let someone_elses = credential(&authority, &key(5), "put,get");
        assert!(matches!(
            check(&msg(someone_elses, 3, write(&client, ok_value.clone()))),
            Err(Refusal::BadCredential(_))
        ));
        let reader = credential(&authority, &client, "get");
        let r = check(&msg(reader.clone(), 3, write(&client, ok_value.clone())));
        assert!(
            matches!(&r, Err(Refusal::Denied(s)) if s.contains("put")),
            "{r:?}"
        );
        // A reader writes back what another owner signed, with that owner's credential...
        assert_eq!(
            check(&msg(reader.clone(), 3, write(&key(6), ok_value.clone()))),
            Ok(())
        );
        // ...but cannot store for a key that is no client's, or one without `put`.
        let stranger = key(8);
        let bare = Request::Write {
            version: Box::new(Version::sign(&stranger, b"k", 1, Some(ok_value.clone()))),
        };
        let r = check(&msg(reader.clone(), 3, bare));
        assert!(
            matches!(&r, Err(Refusal::BadCredential(s)) if s.contains("no credential")),
            "{r:?}"
        );
        let get_only = credential(&authority, &stranger, "get");
        let weak = Request::Write {
            version: Box::new(
                Version::sign(&stranger, b"k", 1, Some(ok_value.clone())).with_credential(get_only),
            ),
        };
        let r = check(&msg(reader.clone(), 3, weak));
        assert!(
            matches!(&r, Err(Refusal::Denied(s)) if s.contains("may not store")),
            "{r:?}"
        );
        let borrowed = Request::Write {
            version: Box::new(
                Version::sign(&stranger, b"k", 1, Some(ok_value.clone()))
                    .with_credential(credential(&authority, &key(6), "put")),
            ),
        };
        let r = check(&msg(reader, 3, borrowed));
        assert!(
            matches!(&r, Err(Refusal::BadCredential(s)) if s.contains("not the storing client")),
            "{r:?}"
        );
        let expired = gate(&config, 201)(&msg(good.clone(), 3, write(&client, ok_value.clone())));
        assert!(
            matches!(&expired, Err(Refusal::Denied(s)) if s.contains("expired")),
            "{expired:?}"
        );
        let bad_manifest = Blob::Chunked(Manifest {
            size: 10,
            chunk_bytes: 4,
            chunks: vec![],
            digest: Hash([0; 32]),
        });
        assert!(matches!(
            check(&msg(good.clone(), 3, write(&client, bad_manifest.to_bytes()))),
            Err(Refusal::BadVersion(s)) if s.contains("manifest")
        ));
        config
            .revoked
            .insert(ClientId::of(&client.public()), Timestamp(200));
        let revoked = gate(&config, 150)(&msg(good, 3, write(&client, ok_value)));
        assert!(
            matches!(&revoked, Err(Refusal::Denied(s)) if s.contains("revoked")),
            "{revoked:?}"
        );
    }
}

#[test]
fn a_content_get_does_not_give_up_while_a_correct_holder_is_unasked() {
    let bytes = b"kept by three".to_vec();
    let id = content_id(&bytes);
    let mut g = Group4::new(None);
    let (mut p, acts) = PutContent::start(Group::of(4), bytes.clone(), proof_of(&bytes));
    assert_eq!(
        g.run(acts, &mut |e| match e {
            Some((from, x)) => p.on_reply(from, x),
            None => p.on_timer(),
        }),
        Some(Outcome::ContentStored(id))
    );
    // Replica 3 missed the put; replica 0 lies. Two "missing" answers are f+1, not 2f+1.
    g.stores[3].content.remove(&id);
    g.stores[0]
        .content
        .insert(id, fixture::content(&owner(), b"forged".to_vec()));
    let (mut c, acts) = GetContent::start(Group::of(4), id, 3);
    assert_eq!(
        g.run(acts, &mut |e| match e {
            Some((from, x)) => c.on_reply(from, x),
            None => c.on_timer(),
        }),
        Some(Outcome::Content(Some(bytes)))
    );
}

#[test]
fn a_busy_replica_is_asked_again_and_one_liar_cannot_make_the_refusal_final() {
    let (mut w, _) = Write::start(Group::of(4), owner(), b"k".to_vec(), Some(b"v".to_vec()), 0);
    let mut out = Vec::new();
    out.extend(w.on_reply(0, Reply::Refused(Refusal::Denied("a liar".into()))));
    out.extend(w.on_reply(1, Reply::Refused(Refusal::Busy)));
    out.extend(w.on_reply(2, Reply::Version(None)));
    out.extend(w.on_reply(3, Reply::Version(None)));
    assert!(
        out.is_empty(),
        "one lasting and one passing refusal decide nothing: {out:?}"
    );
    let again: Vec<usize> = w
        .on_timer()
        .into_iter()
        .filter_map(|a| match a {
            Action::Send { to, .. } => Some(to),
            Action::Done(_) => None,
        })
        .collect();
    assert_eq!(again, vec![1], "only the busy replica is asked again");
    let acts = w.on_reply(1, Reply::Version(None));
    assert!(
        acts.iter().any(|a| matches!(
            a,
            Action::Send {
                req: Request::Write { .. },
                ..
            }
        )),
        "the write goes on to store: {acts:?}"
    );
}

#[test]
fn f_plus_one_lasting_refusals_end_an_operation_and_passing_ones_ask_for_a_retry() {
    let bytes = b"c".to_vec();
    let (mut p, _) = PutContent::start(Group::of(4), bytes.clone(), proof_of(&bytes));
    assert!(p.on_reply(0, Reply::Refused(Refusal::Busy)).is_empty());
    let done = p.on_reply(
        1,
        Reply::Refused(Refusal::StaleEpoch {
            client: crate::id::Epoch(1),
            current: crate::id::Epoch(2),
        }),
    );
    assert!(
        matches!(&done[..], [Action::Done(Outcome::Refused(r))] if r.is_transient()),
        "{done:?}"
    );
    let (mut p, _) = PutContent::start(Group::of(4), bytes.clone(), proof_of(&bytes));
    assert!(p.on_reply(0, Reply::Refused(Refusal::Busy)).is_empty());
    assert!(
        p.on_reply(1, Reply::Refused(Refusal::TooLarge("x".into())))
            .is_empty()
    );
    let done = p.on_reply(2, Reply::Refused(Refusal::TooLarge("x".into())));
    assert!(
        matches!(
            &done[..],
            [Action::Done(Outcome::Refused(Refusal::TooLarge(_)))]
        ),
        "{done:?}"
    );
}

fn stale() -> Reply {
    Reply::Refused(Refusal::StaleEpoch {
        client: crate::id::Epoch(1),
        current: crate::id::Epoch(2),
    })
}

fn sent_to(acts: &[Action]) -> Vec<usize> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Send { to, .. } => Some(*to),
            Action::Done(_) => None,
        })
        .collect()
}

/// Found by the churn simulation (seed 8): a write refused by f+1 replicas in another epoch
/// signed a new version of the same value when started over, so readers saw the value, then
/// a later write's, then the value again.
#[test]
fn a_restarted_write_stores_the_version_it_signed_rather_than_signing_another() {
    let g = Group::of(4);
    let (mut w, _) = Write::start(g, owner(), b"k".to_vec(), Some(b"v".to_vec()), 0);
    let mut acts = Vec::new();
    for r in 0..3 {
        acts.extend(w.on_reply(r, Reply::Version(None)));
    }
    let signed = acts
        .iter()
        .find_map(|a| match a {
            Action::Send {
                req: Request::Write { version },
                ..
            } => Some(version.clone()),
            _ => None,
        })
        .expect("the write stores a version");
    assert!(w.on_reply(0, stale()).is_empty());
    let done = w.on_reply(1, stale());
    assert!(
        matches!(&done[..], [Action::Done(Outcome::Refused(r))] if r.is_epoch()),
        "{done:?}"
    );
    let (mut again, acts) = w.restart(g);
    assert_eq!(sent_to(&acts), vec![0, 1, 2, 3]);
    for a in &acts {
        assert!(
            matches!(a, Action::Send { req: Request::Write { version }, .. } if *version == signed),
            "the restart stores the same version: {a:?}"
        );
    }
    let mut out = Vec::new();
    for r in 0..3 {
        out.extend(again.on_reply(r, Reply::Stored { held: signed.key() }));
    }
    assert_eq!(out, vec![Action::Done(Outcome::Written(signed.key()))]);

    // A write refused before it signed anything starts from its query.
    let (mut w, _) = Write::start(g, owner(), b"k".to_vec(), Some(b"v".to_vec()), 0);
    assert!(w.on_reply(0, stale()).is_empty());
    assert!(!w.on_reply(1, stale()).is_empty());
    let (_, acts) = w.restart(g);
    assert!(
        acts.iter().all(|a| matches!(
            a,
            Action::Send {
                req: Request::Read { .. },
                ..
            }
        )),
        "{acts:?}"
    );
}

/// Found by the churn simulation (seed 1): 2f replicas answered in the old epoch, one
/// correct replica moved on and refused, the faulty one stayed silent; the timer asked only
/// those two again, so the operation waited forever.
#[test]
fn once_a_replica_says_the_group_moved_those_that_answered_are_asked_again() {
    let g = Group::of(4);
    let (mut r, _) = Read::start(g, Hash([7; 32]), 0);
    assert!(r.on_reply(0, Reply::Version(None)).is_empty());
    assert!(r.on_reply(1, Reply::Version(None)).is_empty());
    assert!(r.on_reply(2, stale()).is_empty());
    assert_eq!(sent_to(&r.on_timer()), vec![0, 1, 2, 3]);
    assert!(r.on_reply(0, stale()).is_empty());
    let done = r.on_reply(1, stale());
    assert!(
        matches!(&done[..], [Action::Done(Outcome::Refused(r))] if r.is_epoch()),
        "{done:?}"
    );
    // Without a word about epochs, those that answered are not asked again.
    let (mut r, _) = Read::start(g, Hash([7; 32]), 0);
    assert!(r.on_reply(0, Reply::Version(None)).is_empty());
    assert!(r.on_reply(1, Reply::Version(None)).is_empty());
    assert!(r.on_reply(2, Reply::Refused(Refusal::Busy)).is_empty());
    assert_eq!(sent_to(&r.on_timer()), vec![2, 3]);

    let bytes = b"c".to_vec();
    let (mut p, _) = PutContent::start(g, bytes.clone(), proof_of(&bytes));
    let stored = || Reply::ContentStored {
        id: content_id(b"c"),
    };
    assert!(p.on_reply(0, stored()).is_empty());
    assert!(p.on_reply(1, stored()).is_empty());
    assert!(p.on_reply(2, stale()).is_empty());
    assert_eq!(sent_to(&p.on_timer()), vec![0, 1, 2, 3]);
    assert!(p.on_reply(0, stale()).is_empty());
    assert!(matches!(
        &p.on_reply(1, stale())[..],
        [Action::Done(Outcome::Refused(r))] if r.is_epoch()
    ));

    let (mut c, _) = GetContent::start(g, content_id(&bytes), 0);
    let mut acts = c.on_reply(0, Reply::Content(None));
    acts.extend(c.on_reply(1, Reply::Content(None)));
    acts.extend(c.on_reply(2, stale()));
    assert_eq!(sent_to(&acts), vec![1, 2, 3]);
    assert_eq!(sent_to(&c.on_timer()), vec![0, 1, 2, 3]);
    assert!(c.on_reply(0, stale()).is_empty());
    assert!(matches!(
        &c.on_reply(1, stale())[..],
        [Action::Done(Outcome::Refused(r))] if r.is_epoch()
    ));
}

/// Found by the churn simulation (seed 49): a liar refusing for good and one correct
/// replica saying "another epoch" ended a content get with the liar's reason.
#[test]
fn one_liar_and_one_replica_in_another_epoch_do_not_fail_a_content_get() {
    let bytes = b"c".to_vec();
    let (mut c, _) = GetContent::start(Group::of(4), content_id(&bytes), 0);
    let acts = c.on_reply(0, Reply::Refused(Refusal::Storage("a liar".into())));
    assert_eq!(sent_to(&acts), vec![1]);
    let acts = c.on_reply(1, stale());
    assert_eq!(sent_to(&acts), vec![2], "the get goes on: {acts:?}");
    assert_eq!(
        c.on_reply(
            2,
            Reply::Content(Some(Box::new(fixture::content(&owner(), bytes.clone()))))
        ),
        vec![Action::Done(Outcome::Content(Some(bytes)))]
    );
}

/// Issue 15: a write times out after its version reached one replica only; the next write of
/// the object queries the other three. Without the journal it signs another value under the
/// same number and the replica holding the first proves "equivocation" against an honest
/// client; with the journal's floor it signs the next number and no replica has evidence.
#[test]
fn a_write_after_a_timed_out_one_never_reuses_its_version_number() {
    use super::journal::Journal;
    for with_journal in [false, true] {
        let mut stores = vec![MemStore::default(); 4];
        let mut journal = Journal::default();
        let (mut w, acts) =
            Write::start(Group::of(4), owner(), b"k".to_vec(), Some(b"A".to_vec()), 0);
        let mut store_phase = Vec::new();
        for a in acts {
            if let Action::Send { to, req } = a {
                let r = replica::handle(&mut stores[to], req);
                store_phase.extend(w.on_reply(to, r));
            }
        }
        let first = w.signed().expect("signed after the query").clone();
        journal.signed(w.object(), first.stamp.number).unwrap();
        // Only replica 0 gets the store; the client gives up.
        for a in store_phase {
            if let Action::Send { to: 0, req } = a {
                replica::handle(&mut stores[0], req);
            }
        }
        let (mut w2, acts) =
            Write::start(Group::of(4), owner(), b"k".to_vec(), Some(b"B".to_vec()), 1);
        if with_journal {
            w2.sign_above(journal.floor(&w2.object()));
        }
        let mut next = Vec::new();
        for a in acts {
            if let Action::Send { to, req } = a
                && to != 0
            {
                let r = replica::handle(&mut stores[to], req);
                next.extend(w2.on_reply(to, r));
            }
        }
        let mut evidence = Vec::new();
        for a in next {
            if let Action::Send { to, req } = a {
                let (_, e) = replica::handle_noting(&mut stores[to], req);
                evidence.extend(e);
            }
        }
        assert_eq!(
            evidence.is_empty(),
            with_journal,
            "journal {with_journal}: evidence {evidence:?}"
        );
        if with_journal {
            let number = w2.signed().unwrap().stamp.number;
            assert!(number > first.stamp.number);
        }
    }
}
