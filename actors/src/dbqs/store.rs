//! A dBQS replica's objects in rocksdb: keyed objects' versions and content objects, each in
//! its own column family, every write one batch (WAL fsynced unless the operator turned it
//! off). What is read back is decoded with its bound; a record that does not decode is
//! reported as corrupt storage, never served.

use overlay::constants::CERT_BYTES_MAX;
use overlay::dbqs::object::{VALUE_BYTES_MAX, Version};
use overlay::dbqs::provenance::Content;
use overlay::dbqs::replica::{CONTENT_BYTES_MAX, Store};
use overlay::encoding::{decode, encode};
use overlay::id::Hash;
use overlay::ring::Range;
use overlay::transfer::page::{Held, ListPage, ListRequest, Listed, PAGE_ENTRIES_MAX, offset};
use rocksdb::{Direction, IteratorMode, WriteBatch};

use crate::db::{CF_CONTENT, CF_INDEX, CF_VERSIONS, Db};

/// The largest index entry (a tag and a version key).
const INDEX_ENTRY_BYTES_MAX: usize = 64;
/// Room for what travels with a value or a content object: stamp, signatures, credential.
const PROOF_OVERHEAD_BYTES: usize = CERT_BYTES_MAX + 4096;

/// The replica's objects.
pub struct RocksStore {
    db: Db,
}

impl RocksStore {
    /// The objects in `db`.
    pub fn new(db: Db) -> RocksStore {
        RocksStore { db }
    }

    /// The database the objects are in.
    pub(super) fn db(&self) -> &Db {
        &self.db
    }

    /// Keyed objects and content objects held (estimates from rocksdb's statistics).
    pub fn counts(&self) -> (u64, u64) {
        let estimate = |cf: &str| {
            self.db
                .raw()
                .property_int_value_cf(self.db.cf(cf), "rocksdb.estimate-num-keys")
                .ok()
                .flatten()
                .unwrap_or(0)
        };
        (estimate(CF_VERSIONS), estimate(CF_CONTENT))
    }
}

impl RocksStore {
    /// Whether no object is held at all (exact, unlike `counts`).
    pub fn is_empty(&self) -> bool {
        [CF_VERSIONS, CF_CONTENT].iter().all(|cf| {
            self.db
                .raw()
                .iterator_cf(self.db.cf(cf), IteratorMode::Start)
                .next()
                .is_none()
        })
    }
}

/// An interval of ids in key order: after `from` (or from the lowest id), up to `to`.
struct Segment {
    from: Option<[u8; 32]>,
    to: [u8; 32],
}

/// The intervals of ids a range covers after `after`, in ring order from the range's start.
fn segments(range: &Range, after: Option<&Hash>) -> Vec<Segment> {
    let (start, end) = (range.start.0, range.end.0);
    let all: Vec<Segment> = if start < end {
        vec![Segment {
            from: Some(start),
            to: end,
        }]
    } else {
        // Wraps past the top (or is the whole ring, `end == start`).
        let mut v = Vec::new();
        if start != [0xff; 32] {
            v.push(Segment {
                from: Some(start),
                to: [0xff; 32],
            });
        }
        v.push(Segment {
            from: None,
            to: end,
        });
        v
    };
    let Some(a) = after else { return all };
    let inside = |s: &Segment| s.from.is_none_or(|f| a.0 > f) && a.0 <= s.to;
    match all.iter().position(inside) {
        Some(i) => all
            .into_iter()
            .skip(i)
            .enumerate()
            .map(|(k, s)| {
                if k == 0 {
                    Segment {
                        from: Some(a.0),
                        ..s
                    }
                } else {
                    s
                }
            })
            .collect(),
        None => all,
    }
}

impl RocksStore {
    /// A page of what this replica holds in `req.range` after `req.after`, read in key order
    /// from both column families without loading the range (state transfer's listing).
    pub fn page(&self, req: &ListRequest) -> Result<ListPage, String> {
        let limit = (req.limit as usize).clamp(1, PAGE_ENTRIES_MAX);
        let mut found: Vec<Listed> = Vec::new();
        let mut n = 0;
        'segments: for seg in segments(&req.range, req.after.as_ref()) {
            let from = seg.from.unwrap_or([0; 32]);
            let iter = self.db.raw().iterator_cf(
                self.db.cf(CF_INDEX),
                IteratorMode::From(&from, Direction::Forward),
            );
            for item in iter {
                let (k, v) = item.map_err(|e| format!("list: {e}"))?;
                let Ok(id) = <[u8; 32]>::try_from(&k[..]) else {
                    continue;
                };
                if seg.from == Some(id) {
                    continue;
                }
                if id > seg.to {
                    break;
                }
                let held: Held = decode(&v, INDEX_ENTRY_BYTES_MAX)
                    .map_err(|e| format!("corrupt index entry of {}: {e}", Hash(id).short()))?;
                found.push(Listed { id: Hash(id), held });
                n += 1;
                // One more than the limit tells whether the listing is complete.
                if n > limit {
                    break 'segments;
                }
            }
        }
        found.sort_unstable_by_key(|l| offset(&req.range, &l.id));
        let complete = found.len() <= limit;
        found.truncate(limit);
        Ok(ListPage {
            entries: found,
            complete,
        })
    }
}

impl RocksStore {
    /// Deletes every object in `range` (values and index entries), a batch at a time;
    /// returns how many went.
    pub fn delete_range(&self, range: &Range) -> Result<u64, String> {
        const BATCH: usize = 1024;
        let mut gone = 0u64;
        for cf in [CF_VERSIONS, CF_CONTENT, CF_INDEX] {
            for seg in segments(range, None) {
                let mut from = seg.from;
                loop {
                    let start = from.unwrap_or([0; 32]);
                    let iter = self.db.raw().iterator_cf(
                        self.db.cf(cf),
                        IteratorMode::From(&start, Direction::Forward),
                    );
                    let mut batch = WriteBatch::default();
                    let mut last = None;
                    let mut n = 0;
                    for item in iter {
                        let (k, _) = item.map_err(|e| format!("delete: {e}"))?;
                        let Ok(id) = <[u8; 32]>::try_from(&k[..]) else {
                            continue;
                        };
                        if from == Some(id) {
                            continue;
                        }
                        if id > seg.to || n == BATCH {
                            break;
                        }
                        batch.delete_cf(self.db.cf(cf), id);
                        last = Some(id);
                        n += 1;
                    }
                    if n == 0 {
                        break;
                    }
                    self.db.write(batch).map_err(|e| e.to_string())?;
                    if cf != CF_INDEX {
                        gone += n as u64;
                    }
                    from = last;
                }
            }
        }
        Ok(gone)
    }
}

impl Store for RocksStore {
    fn version(&self, id: &Hash) -> Result<Option<Version>, String> {
        let raw = self
            .db
            .raw()
            .get_pinned_cf(self.db.cf(CF_VERSIONS), id.0)
            .map_err(|e| format!("read version: {e}"))?;
        raw.map(|b| {
            decode(&b, VALUE_BYTES_MAX + PROOF_OVERHEAD_BYTES)
                .map_err(|e| format!("corrupt version of {}: {e}", id.short()))
        })
        .transpose()
    }

    fn put_version(&mut self, v: Version) -> Result<(), String> {
        let mut batch = WriteBatch::default();
        self.stage_version(&mut batch, &v);
        self.db.write(batch).map_err(|e| e.to_string())
    }

    fn content(&self, id: &Hash) -> Result<Option<Content>, String> {
        let raw = self
            .db
            .raw()
            .get_pinned_cf(self.db.cf(CF_CONTENT), id.0)
            .map_err(|e| format!("read content: {e}"))?;
        raw.map(|b| {
            decode(&b, CONTENT_BYTES_MAX + PROOF_OVERHEAD_BYTES)
                .map_err(|e| format!("corrupt content object {}: {e}", id.short()))
        })
        .transpose()
    }

    fn has_content(&self, id: &Hash) -> Result<bool, String> {
        let raw = self
            .db
            .raw()
            .get_pinned_cf(self.db.cf(CF_CONTENT), id.0)
            .map_err(|e| format!("read content: {e}"))?;
        Ok(raw.is_some())
    }

    fn put_content(&mut self, id: Hash, content: Content) -> Result<(), String> {
        let mut batch = WriteBatch::default();
        self.stage_content(&mut batch, &id, &content);
        self.db.write(batch).map_err(|e| e.to_string())
    }
}

impl RocksStore {
    /// Adds version `v` and its index entry to `batch`.
    pub(super) fn stage_version(&self, batch: &mut WriteBatch, v: &Version) {
        batch.put_cf(
            self.db.cf(CF_INDEX),
            v.id().0,
            encode(&Held::Keyed(v.key())),
        );
        batch.put_cf(self.db.cf(CF_VERSIONS), v.id().0, encode(v));
    }

    /// Adds content object `id` and its index entry to `batch`.
    pub(super) fn stage_content(&self, batch: &mut WriteBatch, id: &Hash, content: &Content) {
        batch.put_cf(self.db.cf(CF_INDEX), id.0, encode(&Held::Content));
        batch.put_cf(self.db.cf(CF_CONTENT), id.0, encode(content));
    }

    /// Writes `batch` as one write (one WAL fsync when the database is durable).
    pub(super) fn commit(&self, batch: WriteBatch) -> Result<(), String> {
        self.db.write(batch).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use overlay::crypto::SecretKey;
    use overlay::dbqs::fixture;
    use overlay::dbqs::replica::{Reply, Request, Store, handle};
    use overlay::transfer::page::page_of;

    fn writer() -> SecretKey {
        SecretKey::from_seed(&[6; 32])
    }

    fn put_content(bytes: Vec<u8>) -> Request {
        let proof = fixture::proof(&writer(), overlay::dbqs::object::content_id(&bytes));
        Request::PutContent {
            bytes,
            proof: Box::new(proof),
        }
    }

    #[test]
    fn versions_and_content_survive_a_reopen_and_never_go_back() {
        let dir = tempfile::tempdir().unwrap();
        let owner = SecretKey::from_seed(&[3; 32]);
        let v2 = Version::sign(&owner, b"k", 2, Some(b"two".to_vec()));
        let v1 = Version::sign(&owner, b"k", 1, Some(b"one".to_vec()));
        {
            let mut s = RocksStore::new(Db::open(dir.path(), true).unwrap());
            for v in [v2.clone(), v1] {
                handle(
                    &mut s,
                    Request::Write {
                        version: Box::new(v),
                    },
                );
            }
            let r = handle(&mut s, put_content(b"c".to_vec()));
            assert!(matches!(r, Reply::ContentStored { .. }), "{r:?}");
        }
        let mut s = RocksStore::new(Db::open(dir.path(), true).unwrap());
        let r = handle(&mut s, Request::Read { id: v2.id() });
        assert_eq!(r, Reply::Version(Some(Box::new(v2))));
        let id = overlay::dbqs::object::content_id(b"c");
        assert_eq!(
            handle(&mut s, Request::GetContent { id }),
            Reply::Content(Some(Box::new(fixture::content(&writer(), b"c".to_vec()))))
        );
    }

    #[test]
    fn deleting_a_range_removes_exactly_its_objects() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = RocksStore::new(Db::open(dir.path(), false).unwrap());
        let owner = SecretKey::from_seed(&[5; 32]);
        let mut ids = Vec::new();
        for i in 0..3000u32 {
            let v = Version::sign(&owner, &i.to_be_bytes(), 1, None);
            ids.push(v.id());
            handle(
                &mut s,
                Request::Write {
                    version: Box::new(v),
                },
            );
            let c = format!("c{i}").into_bytes();
            ids.push(overlay::dbqs::object::content_id(&c));
            handle(&mut s, put_content(c));
        }
        let range = Range {
            start: Hash([0xc0; 32]),
            end: Hash([0x40; 32]),
        };
        let gone = s.delete_range(&range).unwrap();
        let inside = ids.iter().filter(|id| range.contains(id)).count() as u64;
        assert_eq!(gone, inside);
        for id in &ids {
            let held = s.version(id).unwrap().is_some() || s.content(id).unwrap().is_some();
            assert_eq!(held, !range.contains(id), "{id:?}");
        }
    }

    #[test]
    fn pages_read_from_rocksdb_are_the_pages_the_protocol_defines() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = RocksStore::new(Db::open(dir.path(), false).unwrap());
        let owner = SecretKey::from_seed(&[4; 32]);
        let mut all = Vec::new();
        for i in 0..150u32 {
            let v = Version::sign(&owner, &i.to_be_bytes(), 1 + u64::from(i % 3), None);
            all.push(Listed::keyed(&v));
            handle(
                &mut s,
                Request::Write {
                    version: Box::new(v),
                },
            );
            let c = format!("c{i}").into_bytes();
            all.push(Listed {
                id: overlay::dbqs::object::content_id(&c),
                held: Held::Content,
            });
            handle(&mut s, put_content(c));
        }
        let mut ranges = vec![Range::full()];
        for k in 0..12u8 {
            let a = Hash::of(&[&[k]]);
            let b = Hash::of(&[&[k, 1]]);
            ranges.push(Range { start: a, end: b });
        }
        ranges.push(Range {
            start: Hash([0xff; 32]),
            end: Hash([0x80; 32]),
        });
        for range in ranges {
            for limit in [1u32, 7, 64, 1000] {
                let mut after = None;
                loop {
                    let req = ListRequest {
                        range,
                        after,
                        limit,
                    };
                    let got = s.page(&req).unwrap();
                    assert_eq!(got, page_of(&req, all.clone()), "{range:?} after {after:?}");
                    if got.complete {
                        break;
                    }
                    after = got.entries.last().map(|l| l.id);
                }
            }
        }
    }
}
