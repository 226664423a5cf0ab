//! Steady client load during the campaign, recorded as a history for the checker. Each
//! register (a keyed object) has one writer, which writes increasing numbers; readers read
//! every register. An operation that fails or times out may or may not have happened: it
//! stays in flight forever in the history, and its worker goes on under a new thread id.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use overlay::crypto::PublicKey;
use rampart::client::Client;
use rand::Rng as _;
use rand::SeedableRng;
use stateright::semantics::register::{RegisterOp, RegisterRet};

/// One event of the history.
#[derive(Debug, Clone)]
pub enum Step {
    /// An operation began.
    Invoke(RegisterOp<Option<u64>>),
    /// It ended with this result.
    Return(RegisterRet<Option<u64>>),
}

/// The history: (when, register, thread, step).
pub type History = Arc<Mutex<Vec<(Instant, usize, usize, Step)>>>;

/// A register: its owner's key and name.
#[derive(Clone)]
pub struct Register {
    /// The writer's key (the object's owner).
    pub owner: PublicKey,
    /// The object's name.
    pub name: String,
}

/// What the load did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    /// Writes acknowledged.
    pub writes_ok: u64,
    /// Reads answered.
    pub reads_ok: u64,
    /// Operations that failed or timed out (outcome unknown).
    pub unknown: u64,
    /// Reads whose value is not one a writer wrote.
    pub undecodable: u64,
}

/// Shared counters and the stop flag.
pub struct Load {
    /// The history.
    pub history: History,
    /// The counts.
    pub counts: Arc<Mutex<Counts>>,
    /// Set to stop the workers.
    pub stop: Arc<std::sync::atomic::AtomicBool>,
    /// The last error of each kind, for the report.
    pub errors: Arc<Mutex<std::collections::BTreeMap<String, u64>>>,
    /// Errors none of the campaign's faults explain, by kind.
    pub unexplained: Arc<Mutex<std::collections::BTreeMap<String, u64>>>,
}

/// The value as stored: its decimal digits.
fn encode(v: u64) -> Vec<u8> {
    v.to_string().into_bytes()
}

/// A register's value from its bytes.
pub fn decode(bytes: Option<Vec<u8>>) -> Result<Option<u64>, String> {
    bytes
        .map(|b| {
            String::from_utf8(b)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| "a register holds something that is not a number".to_string())
        })
        .transpose()
}

/// Whether the campaign's faults (kills, partitions, slow links, a full disk, epoch
/// changes, a liar) explain error `e`: no quorum in time, busy or moving replicas, a
/// configuration out of reach, a disk that cannot write. A refused credential, a refused or
/// corrupt version, or a local error is not explained: an honest client must never see one.
fn explained(e: &rampart::client::ClientError) -> bool {
    use overlay::dbqs::replica::Refusal;
    use rampart::client::ClientError;
    match e {
        ClientError::Timeout(_) | ClientError::Config(_) => true,
        ClientError::Refused(r) => matches!(
            r,
            Refusal::Busy
                | Refusal::StaleEpoch { .. }
                | Refusal::ReplicaBehind { .. }
                | Refusal::NotHeld(_)
                | Refusal::Storage(_)
        ),
        ClientError::Local(_) | ClientError::Corrupt(_) | ClientError::Closed => false,
    }
}

fn short(e: &rampart::client::ClientError) -> String {
    let s = e.to_string();
    s.chars().take(60).collect()
}

impl Load {
    /// An empty history.
    pub fn new() -> Load {
        Load {
            history: Arc::default(),
            counts: Arc::default(),
            stop: Arc::default(),
            errors: Arc::default(),
            unexplained: Arc::default(),
        }
    }

    fn record(&self, reg: usize, thread: usize, step: Step) {
        if let Ok(mut h) = self.history.lock() {
            h.push((Instant::now(), reg, thread, step));
        }
    }

    fn error(&self, e: &rampart::client::ClientError) {
        if let Ok(mut m) = self.errors.lock() {
            *m.entry(short(e)).or_default() += 1;
        }
        if !explained(e)
            && let Ok(mut m) = self.unexplained.lock()
        {
            *m.entry(short(e)).or_default() += 1;
        }
        if let Ok(mut c) = self.counts.lock() {
            c.unknown += 1;
        }
    }

    /// A writer: writes 1, 2, 3 ... to its registers (`regs`, indices into the history) in
    /// turn, pausing `pause` between writes. Thread ids start at `thread` and step by 1000.
    pub async fn writer(
        self: Arc<Self>,
        client: Client,
        regs: Vec<(usize, String)>,
        thread: usize,
        pause: Duration,
    ) {
        let mut next = vec![1u64; regs.len()];
        let mut tid = thread;
        let mut k = 0;
        while !self.stop.load(std::sync::atomic::Ordering::Relaxed) {
            let (reg, name) = &regs[k % regs.len()];
            let v = next[k % regs.len()];
            next[k % regs.len()] += 1;
            self.record(*reg, tid, Step::Invoke(RegisterOp::Write(Some(v))));
            match client.put(name.as_bytes(), &encode(v)).await {
                Ok(_) => {
                    self.record(*reg, tid, Step::Return(RegisterRet::WriteOk));
                    if let Ok(mut c) = self.counts.lock() {
                        c.writes_ok += 1;
                    }
                }
                Err(e) => {
                    self.error(&e);
                    tid += 1000;
                }
            }
            k += 1;
            tokio::time::sleep(pause).await;
        }
    }

    /// A reader: reads registers at random.
    pub async fn reader(
        self: Arc<Self>,
        client: Client,
        regs: Vec<Register>,
        thread: usize,
        seed: u64,
        pause: Duration,
    ) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut tid = thread;
        while !self.stop.load(std::sync::atomic::Ordering::Relaxed) {
            let reg = rng.gen_range(0..regs.len());
            let r = &regs[reg];
            self.record(reg, tid, Step::Invoke(RegisterOp::Read));
            match client.get_of(&r.owner, r.name.as_bytes()).await {
                Ok(bytes) => match decode(bytes) {
                    Ok(v) => {
                        self.record(reg, tid, Step::Return(RegisterRet::ReadOk(v)));
                        if let Ok(mut c) = self.counts.lock() {
                            c.reads_ok += 1;
                        }
                    }
                    Err(_) => {
                        if let Ok(mut c) = self.counts.lock() {
                            c.undecodable += 1;
                        }
                        tid += 1000;
                    }
                },
                Err(e) => {
                    self.error(&e);
                    tid += 1000;
                }
            }
            tokio::time::sleep(pause).await;
        }
    }
}

impl Default for Load {
    fn default() -> Self {
        Load::new()
    }
}
