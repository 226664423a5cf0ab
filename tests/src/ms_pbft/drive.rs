//! What nodes do on their own: driver ticks, following an instance by polling its replicas,
//! moving on to the next instance, and signing sessions over the network.

use overlay::encoding::domain_bytes;
use overlay::epoch::EpochCert;
use overlay::id::{Epoch, Hash, NodeId};
use overlay::ms::driver::{Driver, DriverAction, Local};
use overlay::ms::{MsApp, Op, State};
use overlay::pbft::Replica;
use overlay::threshold::PublicKeyPackage;
use overlay::threshold::nonces::Asker;
use overlay::threshold::session::{CoordAction, Coordinator, SignMsg};
use rand::Rng as _;

use super::node::Session;
use super::world::{Ev, POLL_MS, T0, TICK_MS, World};
use crate::ms_sim::Fault;

impl World {
    /// One driver tick of `node`.
    pub(super) fn tick(&mut self, node: usize) -> Result<(), String> {
        if self.fault(node) == Some(Fault::Silent) || self.nodes[node].driver.is_none() {
            return Ok(());
        }
        let e = self.nodes[node].epoch();
        let now_ms = self.sched.now();
        if now_ms % POLL_MS < TICK_MS {
            self.poll(node, e);
        }
        let wall = T0.plus_secs(now_ms / 1000);
        let n = &mut self.nodes[node];
        let Some(mut d) = n.driver.take() else {
            return Ok(());
        };
        let mut actions = Vec::new();
        let mut handed: Option<State> = None;
        if let Some(inst) = n.insts.get(&e)
            && let Some(r) = inst.replica.as_ref()
        {
            let app = r.app();
            let local = Local {
                app,
                primary: r.is_active() && inst.cfg.primary(r.view()) == inst.idx,
                index: inst.idx.0,
            };
            actions = d.tick(now_ms, wall, &local, &mut self.rng);
            if app.handed_over() {
                handed = Some(app.state.clone());
            }
        }
        if handed.is_none()
            && let Some(agreed) = agreed(&n.polls, self.configs[&e].f_ms as usize + 1)
        {
            let member = n.insts.contains_key(&e);
            if agreed.handed_over() && member {
                // A lagging replica of the old group finishes from what f_ms+1 replicas
                // handed over, as it would from its own replica.
                let local = Local {
                    app: &agreed,
                    primary: false,
                    index: 0,
                };
                actions.extend(d.tick(now_ms, wall, &local, &mut self.rng));
            } else if let Some(h) = agreed
                .state
                .handover()
                .filter(|h| h.statement.epoch == e.next())
            {
                actions.extend(d.tick_outsider(h));
            }
            if agreed.handed_over() {
                handed = Some(agreed.state.clone());
            }
        }
        self.nodes[node].driver = Some(d);
        self.lie(node, e)?;
        self.report_dead(node, e)?;
        self.driver_actions(node, e, actions)?;
        if let Some(state) = handed {
            self.move_on(node, state)?;
        }
        Ok(())
    }

    fn poll(&mut self, node: usize, e: Epoch) {
        let group = self.configs[&e].ms_group.clone();
        for id in group {
            let Some(to) = self.ix.get(&id).copied() else {
                continue;
            };
            if to == node {
                continue;
            }
            self.deliver(node, to, || Ev::Poll {
                to,
                from: node,
                inst: e,
            });
        }
    }

    /// A replica answers a poll with its state; the Byzantine one with the state its instance
    /// started from (withholding progress), or not at all if silent.
    pub(super) fn on_poll(&mut self, to: usize, from: usize, inst: Epoch) {
        let n = &self.nodes[to];
        if !n.alive || self.fault(to) == Some(Fault::Silent) {
            return;
        }
        let app = if self.byz == Some(to) {
            n.insts.get(&inst).map(|i| MsApp::new(i.start.clone()))
        } else {
            n.answer(inst).cloned()
        };
        if let Some(app) = app {
            let app = Box::new(app);
            self.deliver(to, from, || Ev::Polled {
                to: from,
                from: to,
                inst,
                app: app.clone(),
            });
        }
    }

    /// The Byzantine node's lies that are not rewrites of what its driver says.
    fn lie(&mut self, node: usize, e: Epoch) -> Result<(), String> {
        if self.fault(node) != Some(Fault::FalseComplainer) {
            return Ok(());
        }
        let n = &self.nodes[node];
        let mut ops = Vec::new();
        if let Some(app) = n.app(e) {
            // Report a correct, live member unresponsive: one report must not evict it.
            let config = app.state.config();
            if let Some(victim) = config
                .members
                .iter()
                .map(|m| m.id())
                .find(|id| *id != n.id && !self.dead.contains(id))
                && !n.reported.contains(&(victim, e))
            {
                ops.push((Some(victim), Op::Unresponsive { node: victim }));
            }
            if let Some(h) = app.state.handover()
                && !h.is_complete()
                && h.chosen.is_none()
                && h.new_holders.contains(&n.key.public())
            {
                for d in &h.dealings {
                    let tag = Hash::of(&[&h.session().0, &d.dealer.0.0]);
                    if !n.complained.contains(&tag) {
                        ops.push((None, Op::Complain { dealer: d.dealer }));
                    }
                }
            }
        }
        for (victim, op) in ops {
            let n = &mut self.nodes[node];
            match (&op, victim) {
                (_, Some(v)) => {
                    n.reported.insert((v, e));
                }
                (Op::Complain { dealer }, None) => {
                    let session = n
                        .app(e)
                        .and_then(|a| a.state.handover())
                        .map(|h| h.session())
                        .unwrap_or_default();
                    n.complained.insert(Hash::of(&[&session.0, &dealer.0.0]));
                }
                _ => {}
            }
            self.submit(node, e, MsApp::encode_op(&op))?;
        }
        Ok(())
    }

    /// A correct MS replica reports the members whose probes it stopped hearing.
    fn report_dead(&mut self, node: usize, e: Epoch) -> Result<(), String> {
        if !self.correct(node) {
            return Ok(());
        }
        let n = &self.nodes[node];
        let Some(app) = n.app(e) else {
            return Ok(());
        };
        let due: Vec<NodeId> = self
            .dead
            .iter()
            .filter(|d| app.state.config().member(d).is_some())
            .filter(|d| !n.reported.contains(&(**d, e)))
            .copied()
            .collect();
        for d in due {
            self.nodes[node].reported.insert((d, e));
            self.submit(node, e, MsApp::encode_op(&Op::Unresponsive { node: d }))?;
        }
        Ok(())
    }

    /// Carries out what `node`'s driver asked for while following instance `e`.
    pub(super) fn driver_actions(
        &mut self,
        node: usize,
        e: Epoch,
        actions: Vec<DriverAction>,
    ) -> Result<(), String> {
        let fault = self.fault(node);
        for a in actions {
            match a {
                DriverAction::Submit(op) => {
                    let mut op = *op;
                    if fault == Some(Fault::LyingDealer) && !crate::ms_sim::lie_as_dealer(&mut op) {
                        continue;
                    }
                    self.submit(node, e, MsApp::encode_op(&op))?;
                }
                DriverAction::SignEpoch {
                    statement,
                    holders,
                    public,
                    threshold,
                } => {
                    let Ok(public) = PublicKeyPackage::deserialize(&public) else {
                        return Err("the handover's old public package does not parse".into());
                    };
                    let message = domain_bytes(&statement);
                    let now = self.sched.now();
                    let session = Hash::of(&[&message, &now.to_be_bytes()]);
                    let mut coord = Coordinator::new(
                        session,
                        message,
                        public,
                        holders,
                        threshold as usize,
                        300,
                    );
                    let acts = coord.start();
                    self.nodes[node].session = Some(Session { coord, statement });
                    self.coord_actions(node, acts)?;
                }
                DriverAction::NewShare { key, .. } => self.nodes[node].set_share(Some(*key)),
                DriverAction::Adopt { config, cert, .. } => {
                    cert.verify(&self.ms_key)
                        .map_err(|_| format!("node {node} adopted an unverified certificate"))?;
                    if config.hash() != cert.statement.config_hash {
                        return Err(format!(
                            "node {node} adopted a configuration its certificate does not sign"
                        ));
                    }
                    let n = &mut self.nodes[node];
                    if !config.in_ms_group(&n.id) {
                        if n.driver.as_ref().and_then(Driver::share).is_some() {
                            return Err(format!(
                                "node {node} left the MS group in epoch {} and kept its share",
                                config.epoch
                            ));
                        }
                        n.set_share(None);
                    }
                }
            }
        }
        Ok(())
    }

    /// `node` saw the instance it follows hand over `state`: it follows the next one, and
    /// starts its replica there if it is in the new group.
    fn move_on(&mut self, node: usize, state: State) -> Result<(), String> {
        let config = state.config().clone();
        let cert = state
            .handover()
            .and_then(|h| h.cert)
            .ok_or("handed over without a certificate")?;
        self.record_certified(&config, &cert)?;
        let e = config.epoch;
        let n = &mut self.nodes[node];
        if n.epoch() >= e {
            return Ok(());
        }
        // The instance just left keeps running for one more epoch, so that its replicas that
        // missed the last commits catch up through PBFT; the one before it retires, keeping
        // only what it handed over, for polls.
        let prev = n.epoch();
        if let Some(inst) = n.insts.get_mut(&prev) {
            inst.handed = Some(state.clone());
        }
        for (k, inst) in n.insts.iter_mut() {
            if k.0 + 1 >= e.0 || inst.frozen.is_some() {
                continue;
            }
            let app = inst
                .replica
                .as_ref()
                .map(Replica::app)
                .filter(|a| a.handed_over())
                .cloned()
                .or_else(|| {
                    let mut a = MsApp::new(inst.handed.clone()?);
                    a.instance = *k;
                    Some(a)
                });
            inst.frozen = app;
            inst.replica = None;
            inst.timers.clear();
            inst.liar = None;
        }
        n.following = config.clone();
        n.polls.clear();
        // Handover steps for the old instance are moot now; evidence is not: it goes on to
        // the next instance.
        let old = std::mem::take(&mut n.subs);
        let mut carried = Vec::new();
        for (k, sub) in old {
            if k >= e {
                n.subs.insert(k, sub);
                continue;
            }
            carried.extend(sub.inflight.into_iter().chain(sub.queue).filter(|op| {
                matches!(
                    overlay::encoding::decode::<Op>(op, usize::MAX),
                    Ok(Op::Misbehaviour(_))
                )
            }));
        }
        n.session = None;
        if self.trace {
            println!("{:>6} node {node} follows epoch {e}", self.sched.now());
        }
        if config.in_ms_group(&self.nodes[node].id) && !self.nodes[node].dead {
            self.start_inst(node, &state);
        }
        for op in carried {
            self.submit(node, e, op)?;
        }
        Ok(())
    }

    fn coord_actions(&mut self, node: usize, acts: Vec<CoordAction>) -> Result<(), String> {
        for a in acts {
            match a {
                CoordAction::Send { to, msg } => {
                    let Some(to) = self.ix.get(&to).copied() else {
                        continue;
                    };
                    self.deliver(node, to, || Ev::Sign {
                        to,
                        from: node,
                        msg: msg.clone(),
                    });
                }
                CoordAction::SetTimer { attempt, after_ms } => {
                    if let Some(s) = &self.nodes[node].session {
                        let session = s.coord.session();
                        self.sched.at(
                            after_ms,
                            Ev::CoordTimer {
                                node,
                                session,
                                attempt,
                            },
                        );
                    }
                }
                CoordAction::Excluded { .. } => self.excluded += 1,
                CoordAction::Done(signature) => {
                    let n = &mut self.nodes[node];
                    let Some(s) = n.session.take() else {
                        continue;
                    };
                    let cert = EpochCert {
                        statement: s.statement,
                        signature,
                    };
                    let e = n.epoch();
                    let acts = n
                        .driver
                        .as_mut()
                        .map(|d| d.signed(cert))
                        .unwrap_or_default();
                    self.driver_actions(node, e, acts)?;
                }
            }
        }
        Ok(())
    }

    /// A holder answers a coordinator, signing only the statement of a handover its own
    /// replica has open.
    pub(super) fn on_sign(&mut self, to: usize, from: usize, msg: SignMsg) {
        let fault = self.fault(to);
        let n = &mut self.nodes[to];
        if !n.alive || fault == Some(Fault::Silent) {
            return;
        }
        let insts = &n.insts;
        let Some(signer) = n.signer.as_mut() else {
            return;
        };
        let reply = match msg {
            SignMsg::Commit { session, attempt } => {
                let coordinator = Hash::of(&[&(from as u64).to_le_bytes()]);
                signer
                    .commit(session, attempt, Asker::own(coordinator, 0), &mut self.rng)
                    .ok()
            }
            SignMsg::Sign {
                session,
                attempt,
                package,
            } => {
                let approve = |m: &[u8]| {
                    insts.values().any(|i| {
                        i.replica
                            .as_ref()
                            .and_then(|r| Driver::open_statement(r.app()))
                            .is_some_and(|s| domain_bytes(&s) == m)
                    })
                };
                match signer.sign(session, attempt, &package, approve) {
                    Ok(SignMsg::Share {
                        session,
                        attempt,
                        mut share,
                    }) if fault == Some(Fault::BadShares) => {
                        share[0] ^= 1;
                        Some(SignMsg::Share {
                            session,
                            attempt,
                            share,
                        })
                    }
                    Ok(m) => Some(m),
                    Err(_) => None,
                }
            }
            _ => None,
        };
        if let Some(m) = reply {
            self.deliver(to, from, || Ev::Signed {
                to: from,
                from: to,
                msg: m.clone(),
            });
        }
    }

    pub(super) fn on_signed(&mut self, to: usize, from: usize, msg: SignMsg) -> Result<(), String> {
        let holder = self.nodes[from].id;
        let n = &mut self.nodes[to];
        let Some(s) = n
            .session
            .as_mut()
            .filter(|s| s.coord.session() == msg.session())
        else {
            return Ok(());
        };
        if !n.alive {
            return Ok(());
        }
        let acts = s.coord.on_message(holder, msg);
        self.coord_actions(to, acts)
    }

    pub(super) fn on_coord_timer(
        &mut self,
        node: usize,
        session: Hash,
        attempt: u32,
    ) -> Result<(), String> {
        let Some(s) = self.nodes[node]
            .session
            .as_mut()
            .filter(|s| s.coord.session() == session)
        else {
            return Ok(());
        };
        let acts = s.coord.on_timer(attempt);
        self.coord_actions(node, acts)
    }

    /// A correct node reports the Byzantine node's two conflicting signed statements.
    pub(super) fn equivocate(&mut self) -> Result<(), String> {
        let Some(b) = self.byz else {
            return Ok(());
        };
        let culprit = self.nodes[b].key();
        let slot = Hash::of(&[b"slot"]);
        let say = |content: &[u8]| {
            let st = overlay::ms::Statement {
                signer: culprit.public(),
                slot,
                content: Hash::of(&[content]),
            };
            let sig = culprit.sign(&st);
            (st, sig)
        };
        let evidence = overlay::ms::Evidence::Statements {
            a: say(b"one"),
            b: say(b"two"),
        };
        let latest = self.configs[&self.latest()].clone();
        let reporters: Vec<usize> = latest
            .members
            .iter()
            .filter_map(|m| self.ix.get(&m.id()).copied())
            .filter(|i| {
                self.correct(*i) && self.nodes[*i].alive && !self.leaving(&self.nodes[*i].id)
            })
            .collect();
        if reporters.is_empty() || latest.member(&self.nodes[b].id).is_none() {
            return Ok(());
        }
        let r = reporters[self.rng.gen_range(0..reporters.len())];
        // It stays a member (and so may submit) until its evidence is ordered.
        self.reporter = Some(r);
        self.evidenced.insert(self.nodes[b].id);
        let e = self.nodes[r].epoch();
        self.submit(r, e, MsApp::encode_op(&Op::Misbehaviour(evidence)))
    }
}

/// The state f+1 reporters gave identically (the most advanced such), if any.
fn agreed(polls: &std::collections::BTreeMap<usize, MsApp>, need: usize) -> Option<MsApp> {
    polls
        .values()
        .filter(|a| polls.values().filter(|b| b.state == a.state).count() >= need)
        .max_by_key(|a| a.executed)
        .cloned()
}
