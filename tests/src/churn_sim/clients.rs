//! The clients' side: what they store, and their running operations as the real dBQS client
//! state machines, (re)started against one epoch's replica group.

use overlay::crypto::SecretKey;
use overlay::dbqs::client::{Action, Group, Read, Write};
use overlay::dbqs::content::{GetContent, PutContent};
use overlay::dbqs::object::{content_id, keyed_id};
use overlay::dbqs::replica::Reply;
use overlay::id::Hash;

/// One operation a client runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Write keyed object `object` (a number, or a tombstone).
    Write {
        /// The object's index.
        object: usize,
        /// The value.
        value: Option<u64>,
    },
    /// Read keyed object `object`.
    Read {
        /// The object's index.
        object: usize,
    },
    /// Store content object `content`.
    Put {
        /// Its index.
        content: usize,
    },
    /// Read content object `content`.
    Get {
        /// Its index.
        content: usize,
    },
}

/// The dBQS state machine an operation runs.
pub(super) enum Machine {
    Write(Box<Write>),
    Read(Read),
    Put(PutContent),
    Get(GetContent),
}

impl Machine {
    /// A replica's reply.
    pub(super) fn on_reply(&mut self, from: usize, reply: Reply) -> Vec<Action> {
        match self {
            Machine::Write(m) => m.on_reply(from, reply),
            Machine::Read(m) => m.on_reply(from, reply),
            Machine::Put(m) => m.on_reply(from, reply),
            Machine::Get(m) => m.on_reply(from, reply),
        }
    }

    /// The resend timer.
    pub(super) fn on_timer(&mut self) -> Vec<Action> {
        match self {
            Machine::Write(m) => m.on_timer(),
            Machine::Read(m) => m.on_timer(),
            Machine::Put(m) => m.on_timer(),
            Machine::Get(m) => m.on_timer(),
        }
    }
}

/// Everything clients store: keyed objects (owner, name, id) and content objects.
pub(super) struct Catalog {
    owners: Vec<SecretKey>,
    objects: Vec<(usize, Vec<u8>, Hash)>,
    /// Content objects' bytes.
    pub(super) contents: Vec<Vec<u8>>,
}

impl Catalog {
    /// `objects` keyed objects owned by `owners` in turn, and content objects `contents`.
    pub(super) fn new(owners: Vec<SecretKey>, objects: usize, contents: Vec<Vec<u8>>) -> Catalog {
        let objects = (0..objects)
            .map(|o| {
                let owner = o % owners.len();
                let name = format!("object-{o}").into_bytes();
                let id = keyed_id(&owners[owner].public(), &name);
                (owner, name, id)
            })
            .collect();
        Catalog {
            owners,
            objects,
            contents,
        }
    }

    /// The number of keyed objects.
    pub(super) fn objects(&self) -> usize {
        self.objects.len()
    }

    /// Keyed object `o`'s owner (an index into the owner keys).
    pub(super) fn owner(&self, o: usize) -> usize {
        self.objects[o].0
    }

    /// The ring position an operation goes to.
    pub(super) fn id(&self, kind: &Kind) -> Hash {
        match kind {
            Kind::Write { object, .. } | Kind::Read { object } => self.objects[*object].2,
            Kind::Put { content } | Kind::Get { content } => content_id(&self.contents[*content]),
        }
    }

    /// Starts `kind` over against group `g` after `old` was refused: a write stores the
    /// version it signed, if it signed one (`Write::restart`); the rest start afresh.
    pub(super) fn restart(
        &self,
        kind: &Kind,
        old: Machine,
        g: Group,
        first: usize,
    ) -> (Machine, Vec<Action>) {
        match old {
            Machine::Write(w) => {
                let (m, acts) = w.restart(g);
                (Machine::Write(Box::new(m)), acts)
            }
            _ => self.start(kind, g, first),
        }
    }

    /// Starts `kind` against group `g`; a content get asks replica `first` first.
    pub(super) fn start(&self, kind: &Kind, g: Group, first: usize) -> (Machine, Vec<Action>) {
        match kind {
            Kind::Write { object, value } => {
                let (owner, name, _) = &self.objects[*object];
                let (m, acts) = Write::start(
                    g,
                    SecretKey::from_seed(&self.owners[*owner].seed()),
                    name.clone(),
                    value.map(|v| v.to_be_bytes().to_vec()),
                );
                (Machine::Write(Box::new(m)), acts)
            }
            Kind::Read { object } => {
                let (m, acts) = Read::start(g, self.objects[*object].2);
                (Machine::Read(m), acts)
            }
            Kind::Put { content } => {
                let (m, acts) = PutContent::start(g, self.contents[*content].clone());
                (Machine::Put(m), acts)
            }
            Kind::Get { content } => {
                let id = content_id(&self.contents[*content]);
                let (m, acts) = GetContent::start(g, id, first);
                (Machine::Get(m), acts)
            }
        }
    }
}
