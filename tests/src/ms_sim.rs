//! A seeded simulation of the membership service across epochs: every correct node runs the
//! real `Driver`, signing sessions run the real `Coordinator` and `Signer`s, and Byzantine MS
//! members lie in the handover (a dealer that seals a wrong value and never reveals, a false
//! complainer, a holder that returns wrong signature shares, a silent replica) while the admin
//! admits and removes nodes, revokes clients, and crashed nodes are reported unresponsive.
//!
//! Ordering is ideal but adversarial: PBFT's agreement is checked by its own simulator
//! (`pbft_sim`), so here one `MsApp` stands for every correct replica and the operations
//! submitted in a step are executed in an order the seed shuffles, as a faulty primary may.
//! After every executed operation the invariants are checked: the MS key never changes, one
//! configuration is certified per epoch, every certified configuration follows the MS rules,
//! and every epoch completes within a bounded number of steps (liveness).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use overlay::cert::{CertBody, CertContent, Certificate};
use overlay::config::{Configuration, Member, choose_ms_group};
use overlay::crypto::{PublicKey, SecretKey};
use overlay::epoch::EpochCert;
use overlay::id::{ClientId, Epoch, Hash, NodeId};
use overlay::ms::driver::{Driver, DriverAction, Local};
use overlay::ms::{MsApp, Op, State};
use overlay::pbft::Application;
use overlay::threshold::nonces::Asker;
use overlay::threshold::session::{CoordAction, Coordinator, HolderReply, SignMsg, Signer};
use overlay::threshold::{self, KeyPackage, PublicKeyPackage};
use overlay::time::Timestamp;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

const T0: Timestamp = Timestamp(1_700_000_000);
/// Steps (of 100 simulated ms) an epoch may take once a change is queued.
const EPOCH_STEPS_MAX: u32 = 400;

/// How a Byzantine MS member misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Seals a wrong value to one new holder and never reveals.
    LyingDealer,
    /// Complains about every honest dealer.
    FalseComplainer,
    /// Returns wrong signature shares.
    BadShares,
    /// Submits nothing and answers no signing round.
    Silent,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Epochs certified.
    pub epochs: u64,
    /// Operations executed.
    pub ops: u64,
    /// The configuration hash of the last epoch (equal seeds give equal hashes).
    pub last: Hash,
    /// Faults injected.
    pub faults: Vec<Fault>,
}

struct World {
    rng: ChaCha20Rng,
    authority: SecretKey,
    keys: BTreeMap<NodeId, SecretKey>,
    drivers: BTreeMap<NodeId, Driver>,
    app: MsApp,
    ms_key: PublicKey,
    /// Every node's current share (kept by the harness for signing sessions).
    shares: BTreeMap<NodeId, KeyPackage>,
    byzantine: Option<(NodeId, Fault)>,
    certified: BTreeMap<Epoch, Hash>,
    ops: u64,
    now_ms: u64,
    next_key: u64,
    /// What the admin asked for this epoch, to check the next configuration against.
    admitted: BTreeSet<NodeId>,
    removed: BTreeSet<NodeId>,
    crashed: BTreeSet<NodeId>,
}

fn key(seed: u64, i: u64) -> SecretKey {
    SecretKey::generate(&mut ChaCha20Rng::seed_from_u64(seed.wrapping_mul(1000) + i))
}

impl World {
    fn new(seed: u64) -> World {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let n = rng.gen_range(6..=8u64);
        let authority = key(seed, 999);
        let keys: BTreeMap<NodeId, SecretKey> = (0..n)
            .map(|i| {
                let k = key(seed, i);
                (NodeId::of(&k.public()), k)
            })
            .collect();
        let mut members: Vec<Member> = keys
            .values()
            .map(|k| Member {
                key: k.public(),
                addrs: vec!["/ip4/10.0.0.1/tcp/7700".into()],
            })
            .collect();
        members.sort_by_key(Member::id);
        let ids: Vec<NodeId> = members.iter().map(Member::id).collect();
        let config = Configuration {
            epoch: Epoch(0),
            ms_group: choose_ms_group(&ids, 1, &Hash::of(&[&seed.to_be_bytes()])),
            members,
            f: 1,
            f_ms: 1,
            vnodes: 4,
            revoked: BTreeMap::new(),
        };
        let dealt = threshold::deal(&config.ms_group, 1, &mut rng).expect("deal");
        let ms_key = threshold::group_key(&dealt.public).expect("key");
        let public = dealt.public.serialize().expect("public");
        let state = State::new(authority.public(), config, Hash::default(), T0, public);
        let drivers = keys
            .iter()
            .map(|(id, k)| {
                let d = Driver::new(
                    SecretKey::from_seed(&k.seed()),
                    dealt.shares.get(id).cloned(),
                    1000,
                );
                (*id, d)
            })
            .collect();
        World {
            rng,
            authority,
            keys,
            drivers,
            app: MsApp::new(state),
            ms_key,
            shares: dealt.shares,
            byzantine: None,
            certified: BTreeMap::new(),
            ops: 0,
            now_ms: 0,
            next_key: 100,
            admitted: BTreeSet::new(),
            removed: BTreeSet::new(),
            crashed: BTreeSet::new(),
        }
    }

    fn cert(&self, body: CertBody) -> Certificate {
        Certificate::issue(
            &self.authority,
            CertContent {
                body,
                issued_at: T0,
                not_before: T0,
                not_after: T0.plus_secs(30 * 86_400),
            },
        )
    }

    /// The admin's and the world's changes for this epoch.
    fn churn(&mut self) -> Vec<(PublicKey, Op)> {
        let mut ops = Vec::new();
        let config = self.app.state.config().clone();
        // Always at least one change, so that the epoch closes.
        let c = ClientId::of(&key(self.next_key, 7).public());
        self.next_key += 1;
        ops.push((
            self.authority.public(),
            Op::Revoke(self.cert(CertBody::Revoke { client: c })),
        ));
        if self.rng.gen_bool(0.6) {
            let k = key(self.next_key, 0);
            self.next_key += 1;
            let id = NodeId::of(&k.public());
            ops.push((
                self.authority.public(),
                Op::Add(self.cert(CertBody::Add {
                    node: k.public(),
                    addrs: vec!["/ip4/10.0.0.1/tcp/7700".into()],
                })),
            ));
            self.admitted.insert(id);
            let d = Driver::new(SecretKey::from_seed(&k.seed()), None, 1000);
            self.drivers.insert(id, d);
            self.keys.insert(id, k);
        }
        // Removals and crashes never take the system below 3f+1, nor touch the MS group
        // (whose members the handover needs) or the Byzantine member.
        let spare =
            config.members.len() + self.admitted.len() - self.removed.len() - self.crashed.len();
        let candidates: Vec<NodeId> = config
            .members
            .iter()
            .map(Member::id)
            .filter(|id| !config.in_ms_group(id))
            .collect();
        if spare > 5 && !candidates.is_empty() && self.rng.gen_bool(0.4) {
            let node = *candidates.choose(&mut self.rng).expect("candidate");
            if self.rng.gen_bool(0.5) {
                ops.push((
                    self.authority.public(),
                    Op::Remove(self.cert(CertBody::Remove { node })),
                ));
                self.removed.insert(node);
            } else {
                // Crashed: every correct MS replica reports it.
                self.crashed.insert(node);
                for r in &config.ms_group {
                    if self.byzantine.map(|(b, _)| b) != Some(*r) {
                        ops.push((self.keys[r].public(), Op::Unresponsive { node }));
                    }
                }
            }
        }
        ops
    }

    fn execute(&mut self, submitter: &PublicKey, op: &Op) -> Result<(), String> {
        let r = self.app.execute(submitter, &MsApp::encode_op(op));
        if std::env::var("MS_TRACE").is_ok() {
            println!(
                "{:>6} {:?} -> {:?}",
                self.now_ms,
                op_name(op),
                MsApp::decode_receipt(&r)
            );
        }
        self.ops += 1;
        self.check()
    }

    /// The invariants, after every operation.
    fn check(&mut self) -> Result<(), String> {
        let s = &self.app.state;
        if s.ms_key().map_err(|e| e.to_string())? != self.ms_key {
            return Err("the MS public key changed".into());
        }
        if let Some(h) = s.handover() {
            chosen_dealers_stand(h)?;
        }
        if let Some(h) = s.handover()
            && let Some(cert) = &h.cert
        {
            cert.verify(&self.ms_key)
                .map_err(|_| "a certificate that does not verify was accepted".to_string())?;
            let e = cert.statement.epoch;
            let hash = cert.statement.config_hash;
            if let Some(prev) = self.certified.insert(e, hash)
                && prev != hash
            {
                return Err(format!("two configurations certified for epoch {e}"));
            }
        }
        Ok(())
    }

    /// Checks the configuration the last handover certified against what was asked.
    fn check_rules(&self, before: &Configuration) -> Result<(), String> {
        let after = self.app.state.config();
        let old: BTreeSet<NodeId> = before.members.iter().map(Member::id).collect();
        let new: BTreeSet<NodeId> = after.members.iter().map(Member::id).collect();
        for id in new.difference(&old) {
            if !self.admitted.contains(id) {
                return Err(format!("{id} joined without an admission"));
            }
        }
        for id in old.difference(&new) {
            if !self.removed.contains(id) && !self.crashed.contains(id) {
                return Err(format!("{id} left without a removal or f_ms+1 reports"));
            }
        }
        for id in self.admitted.iter() {
            if !new.contains(id) {
                return Err(format!("admitted {id} is not a member"));
            }
        }
        for id in self.removed.iter().chain(&self.crashed) {
            if new.contains(id) {
                return Err(format!("{id} should have left"));
            }
        }
        if after.members.len() < 4 {
            return Err("fewer than 3f+1 members".into());
        }
        Ok(())
    }

    /// A signing session over `statement` with the old group's shares; the Byzantine member,
    /// if it holds one, returns wrong shares or stays silent.
    fn sign(
        &mut self,
        message: Vec<u8>,
        holders: Vec<NodeId>,
        public: &[u8],
        t: u32,
    ) -> Option<overlay::crypto::Signature> {
        let public = PublicKeyPackage::deserialize(public).ok()?;
        let mut signers: BTreeMap<NodeId, Signer> = holders
            .iter()
            .filter_map(|h| Some((*h, Signer::new(self.shares.get(h)?.clone()))))
            .collect();
        let mut c = Coordinator::new(
            Hash::of(&[&message]),
            message,
            public,
            holders,
            t as usize,
            100,
        );
        let mut queue: VecDeque<CoordAction> = c.start().into();
        let mut timers = Vec::new();
        for _ in 0..5_000 {
            let Some(a) = queue.pop_front() else {
                let t = timers.pop()?;
                queue.extend(c.on_timer(t));
                continue;
            };
            match a {
                CoordAction::Done(sig) => return Some(sig),
                CoordAction::SetTimer { attempt, .. } => timers.push(attempt),
                CoordAction::Excluded { .. } => {}
                CoordAction::Send { to, msg } => {
                    let fault = self.byzantine.filter(|(b, _)| *b == to).map(|(_, f)| f);
                    if fault == Some(Fault::Silent) {
                        continue;
                    }
                    let Some(s) = signers.get_mut(&to) else {
                        continue;
                    };
                    let reply = match msg {
                        SignMsg::Commit { session, attempt } => s
                            .commit(
                                session,
                                attempt,
                                Asker::own(Hash::default(), 0),
                                &mut self.rng,
                            )
                            .ok()
                            .map(HolderReply::Msg),
                        SignMsg::Sign {
                            session,
                            attempt,
                            package,
                        } => match s.sign(session, attempt, &package, |_| true) {
                            Ok(SignMsg::Share {
                                session,
                                attempt,
                                mut share,
                            }) if fault == Some(Fault::BadShares) => {
                                share[0] ^= 1;
                                Some(HolderReply::Msg(SignMsg::Share {
                                    session,
                                    attempt,
                                    share,
                                }))
                            }
                            Ok(m) => Some(HolderReply::Msg(m)),
                            Err(_) => None,
                        },
                        _ => None,
                    };
                    if let Some(HolderReply::Msg(m)) = reply {
                        queue.extend(c.on_message(to, m));
                    }
                }
            }
        }
        None
    }

    /// One epoch: churn, then drivers until the handover completes.
    fn epoch(&mut self) -> Result<(), String> {
        let before = self.app.state.config().clone();
        let group = before.ms_group.clone();
        // One Byzantine member of the MS group per epoch, at most f_ms = 1.
        self.byzantine = None;
        if self.rng.gen_bool(0.8) {
            let b = *group.choose(&mut self.rng).expect("group");
            let f = *[
                Fault::LyingDealer,
                Fault::FalseComplainer,
                Fault::BadShares,
                Fault::Silent,
            ]
            .choose(&mut self.rng)
            .expect("fault");
            self.byzantine = Some((b, f));
        }
        self.admitted.clear();
        self.removed.clear();
        self.crashed.clear();
        let mut churn = self.churn();
        churn.shuffle(&mut self.rng);
        for (who, op) in churn {
            self.execute(&who, &op)?;
        }
        for _ in 0..EPOCH_STEPS_MAX {
            self.now_ms += 100;
            let mut submitted: Vec<(NodeId, Op)> = Vec::new();
            let mut tickers: BTreeSet<NodeId> = group.iter().copied().collect();
            if let Some(h) = self
                .app
                .state
                .handover()
                .filter(|h| h.statement.epoch != self.app.instance)
            {
                tickers.extend(h.new_holders.iter().map(NodeId::of));
            }
            for id in tickers {
                let fault = self.byzantine.filter(|(b, _)| *b == id).map(|(_, f)| f);
                if fault == Some(Fault::Silent) {
                    continue;
                }
                let primary = id == group[self.primary_index(&group)];
                let local = Local {
                    app: &self.app,
                    primary,
                    index: group.iter().position(|g| *g == id).unwrap_or(0) as u32,
                };
                let now = T0.plus_secs(self.now_ms / 1000);
                let Some(d) = self.drivers.get_mut(&id) else {
                    continue;
                };
                let actions = d.tick(self.now_ms, now, &local, &mut self.rng);
                for a in actions {
                    match a {
                        DriverAction::Submit(op) => {
                            let mut op = *op;
                            if fault == Some(Fault::LyingDealer) && !lie_as_dealer(&mut op) {
                                continue;
                            }
                            submitted.push((id, op));
                        }
                        DriverAction::SignEpoch {
                            statement,
                            holders,
                            public,
                            threshold,
                        } => {
                            let msg = overlay::encoding::domain_bytes(&statement);
                            if let Some(signature) = self.sign(msg, holders, &public, threshold) {
                                submitted.push((
                                    id,
                                    Op::Certified(EpochCert {
                                        statement,
                                        signature,
                                    }),
                                ));
                            }
                        }
                        DriverAction::NewShare { key, .. } => {
                            self.shares.insert(id, *key);
                        }
                        DriverAction::Adopt { config, cert, .. } => {
                            cert.verify(&self.ms_key)
                                .map_err(|_| "adopted an unverified certificate".to_string())?;
                            if config.hash() != cert.statement.config_hash {
                                return Err(
                                    "adopted a configuration its certificate does not sign".into(),
                                );
                            }
                        }
                    }
                }
                if fault == Some(Fault::FalseComplainer)
                    && let Some(h) = self.app.state.handover()
                    && h.chosen.is_none()
                    && h.new_holders.contains(&self.keys[&id].public())
                {
                    for d in &h.dealings {
                        submitted.push((id, Op::Complain { dealer: d.dealer }));
                    }
                }
            }
            // A faulty primary may interleave the step's operations as it likes, but PBFT
            // executes each client's requests in the order it made them.
            for (id, op) in interleave(submitted, &mut self.rng) {
                let who = self.keys[&id].public();
                self.execute(&who, &op)?;
            }
            if self.app.handed_over() {
                // Every driver sees the completed handover once: new holders build their
                // shares, old ones drop theirs.
                let h = self
                    .app
                    .state
                    .handover()
                    .cloned()
                    .ok_or("handed over without a handover")?;
                let mut everyone: BTreeSet<NodeId> = group.iter().copied().collect();
                everyone.extend(h.new_holders.iter().map(NodeId::of));
                for id in everyone {
                    let local = Local {
                        app: &self.app,
                        primary: false,
                        index: 0,
                    };
                    let now = T0.plus_secs(self.now_ms / 1000);
                    let Some(d) = self.drivers.get_mut(&id) else {
                        continue;
                    };
                    for a in d.tick(self.now_ms, now, &local, &mut self.rng) {
                        if let DriverAction::NewShare { key, .. } = a {
                            self.shares.insert(id, *key);
                        }
                    }
                }
                self.check_rules(&before)?;
                // A correct new holder that said it checked the dealings gets a share.
                for id in h.ready.keys() {
                    let correct = self.byzantine.map(|(b, _)| b) != Some(*id);
                    if correct && !self.shares.contains_key(id) {
                        return Err(format!(
                            "correct new holder {id} reported ready but got no share"
                        ));
                    }
                }
                // The new group signs under the same key with its correct holders' shares.
                let next = self.app.state.config().clone();
                let correct: Vec<&KeyPackage> = next
                    .ms_group
                    .iter()
                    .filter(|h| self.byzantine.map(|(b, _)| b) != Some(**h))
                    .filter_map(|h| self.shares.get(h))
                    .filter(|k| {
                        k.verifying_key().serialize().ok() == Some(self.ms_key.to_bytes().to_vec())
                    })
                    .collect();
                let public = PublicKeyPackage::deserialize(self.app.state.ms_public())
                    .map_err(|e| e.to_string())?;
                let two: Vec<&KeyPackage> = correct.into_iter().take(2).collect();
                let sig = threshold::sign_locally(&two, &public, b"probe", &mut self.rng)
                    .map_err(|e| format!("the new group cannot sign: {e}"))?;
                self.ms_key
                    .verify_strict(b"probe", &sig)
                    .map_err(|_| "the new group's signature does not verify".to_string())?;
                // Old holders' shares are gone; the next instance starts from this state.
                self.shares.retain(|id, _| next.in_ms_group(id));
                self.app = MsApp::new(self.app.state.clone());
                return Ok(());
            }
        }
        let h = self.app.state.handover().map(|h| {
            format!(
                "dealings {:?}, complaints {:?}, disqualified {:?}, ready {:?}, chosen {:?}, certified {}",
                h.dealings.iter().map(|d| d.dealer).collect::<Vec<_>>(),
                h.complaints,
                h.disqualified,
                h.ready,
                h.chosen,
                h.cert.is_some()
            )
        });
        Err(format!(
            "epoch {} did not complete within {EPOCH_STEPS_MAX} steps (fault {:?}; handover: {h:?})",
            before.epoch.next(),
            self.byzantine
        ))
    }

    /// The primary rotates with the step, as view changes would move it away from a faulty one.
    fn primary_index(&self, group: &[NodeId]) -> usize {
        ((self.now_ms / 3000) as usize) % group.len()
    }
}

/// A lying dealer's rewrite of what its driver submits: its dealing seals a wrong value to the
/// last new holder, and it never reveals. Returns whether to submit the (rewritten) operation.
pub fn lie_as_dealer(op: &mut Op) -> bool {
    if let Op::Deal(d) = op
        && let Some(last) = d.sealed.last_mut()
    {
        last.masked[0] ^= 1;
    }
    !matches!(op, Op::Reveal { .. })
}

/// The invariant on fixed dealers: none was chosen with a complaint standing against it.
pub fn chosen_dealers_stand(h: &overlay::ms::Handover) -> Result<(), String> {
    for d in h.chosen.iter().flatten() {
        let open = h
            .complaints
            .iter()
            .any(|((dealer, _), v)| dealer == d && v.is_none());
        if h.disqualified.contains(d) || open {
            return Err(format!(
                "dealer {d} was chosen with a complaint standing against it"
            ));
        }
    }
    Ok(())
}

/// A random interleaving that keeps each node's operations in order.
fn interleave(ops: Vec<(NodeId, Op)>, rng: &mut ChaCha20Rng) -> Vec<(NodeId, Op)> {
    let mut queues: BTreeMap<NodeId, VecDeque<Op>> = BTreeMap::new();
    for (id, op) in ops {
        queues.entry(id).or_default().push_back(op);
    }
    let mut out = Vec::new();
    while !queues.is_empty() {
        let ids: Vec<NodeId> = queues.keys().copied().collect();
        let id = *ids.choose(rng).expect("non-empty");
        let q = queues.get_mut(&id).expect("present");
        if let Some(op) = q.pop_front() {
            out.push((id, op));
        }
        if q.is_empty() {
            queues.remove(&id);
        }
    }
    out
}

fn op_name(op: &Op) -> String {
    format!("{op:?}").chars().take(40).collect()
}

/// Runs `epochs` epochs from `seed`; an `Err` names the broken invariant.
pub fn run(seed: u64, epochs: u64) -> Result<Outcome, String> {
    let mut w = World::new(seed);
    let mut faults = Vec::new();
    for _ in 0..epochs {
        w.epoch().map_err(|e| format!("seed {seed}: {e}"))?;
        if let Some((_, f)) = w.byzantine {
            faults.push(f);
        }
    }
    Ok(Outcome {
        epochs,
        ops: w.ops,
        last: w.app.state.config().hash(),
        faults,
    })
}
