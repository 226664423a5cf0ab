//! The invariants, and the end of a run.

use std::collections::BTreeSet;

use overlay::config::{Configuration, Member, choose_ms_group};
use overlay::epoch::EpochCert;
use overlay::id::{ClientId, Epoch, NodeId};
use overlay::threshold::{self, KeyPackage, PublicKeyPackage};

use super::world::{Outcome, World};

impl World {
    /// After a correct replica executed: the MS key is unchanged, no dealer was chosen with a
    /// complaint standing, and a certified handover agrees with every other certificate.
    pub(super) fn check_replica(&mut self, node: usize, e: Epoch) -> Result<(), String> {
        let Some(app) = self.nodes[node].app(e) else {
            return Ok(());
        };
        let s = &app.state;
        if s.ms_key().map_err(|e| e.to_string())? != self.ms_key {
            return Err(format!("node {node}: the MS public key changed"));
        }
        let Some(h) = s.handover() else {
            return Ok(());
        };
        crate::ms_sim::chosen_dealers_stand(h)?;
        if let Some(cert) = h.cert
            && s.config().epoch == cert.statement.epoch
        {
            let config = s.config().clone();
            self.record_certified(&config, &cert)?;
        }
        Ok(())
    }

    /// One configuration per epoch, each following the MS rules from its predecessor.
    pub(super) fn record_certified(
        &mut self,
        config: &Configuration,
        cert: &EpochCert,
    ) -> Result<(), String> {
        cert.verify(&self.ms_key)
            .map_err(|_| "a certificate that does not verify was accepted".to_string())?;
        if config.hash() != cert.statement.config_hash || config.epoch != cert.statement.epoch {
            return Err("a configuration its certificate does not sign".into());
        }
        let e = config.epoch;
        if let Some(c) = self.configs.get(&e) {
            if c.hash() != config.hash() {
                return Err(format!("two configurations certified for epoch {e}"));
            }
            return Ok(());
        }
        let prev_epoch = Epoch(e.0 - 1);
        let prev = self
            .configs
            .get(&prev_epoch)
            .ok_or_else(|| format!("epoch {e} certified before epoch {prev_epoch}"))?
            .clone();
        let seed = match self.certs.get(&prev_epoch) {
            Some(c) => c.hash(),
            None => self.genesis_seed,
        };
        self.check_rules(&prev, config, &seed)?;
        if self.trace {
            println!(
                "{:>6} epoch {e} certified: {} members, group {:?}",
                self.sched.now(),
                config.members.len(),
                config.ms_group
            );
        }
        self.configs.insert(e, config.clone());
        self.certs.insert(e, *cert);
        self.pcfgs.insert(e, super::world::pbft_config(config));
        if self.rounds_done < self.p.rounds {
            let delay = 100 + (e.0 % 5) * 100;
            self.sched.at(delay, super::world::Ev::Churn);
        }
        Ok(())
    }

    fn check_rules(
        &self,
        before: &Configuration,
        after: &Configuration,
        seed: &overlay::id::Hash,
    ) -> Result<(), String> {
        let e = after.epoch;
        let old: BTreeSet<NodeId> = before.members.iter().map(Member::id).collect();
        let new: BTreeSet<NodeId> = after.members.iter().map(Member::id).collect();
        if let Some(id) = new.difference(&old).find(|id| !self.added.contains(id)) {
            return Err(format!("epoch {e}: {id} joined without an admission"));
        }
        let may_leave = |id: &NodeId| {
            self.removed.contains(id)
                || self.dead.contains(id)
                || self.evidenced.contains(id)
                || self.accused.contains(id)
        };
        if let Some(id) = old.difference(&new).find(|id| !may_leave(id)) {
            return Err(format!(
                "epoch {e}: {id} left without a removal, f_ms+1 reports or evidence"
            ));
        }
        let was: BTreeSet<&ClientId> = before.revoked.keys().collect();
        if let Some(c) = after
            .revoked
            .keys()
            .find(|c| !was.contains(c) && !self.revoked.contains(c))
        {
            return Err(format!(
                "epoch {e}: client {c:?} revoked without a certificate"
            ));
        }
        let ids: Vec<NodeId> = new.iter().copied().collect();
        if after.ms_group != choose_ms_group(&ids, after.f_ms, seed) {
            return Err(format!(
                "epoch {e}: the MS group is not the one the previous certificate draws"
            ));
        }
        if after.members.len() < 4 {
            return Err(format!("epoch {e}: fewer than 3f+1 members"));
        }
        Ok(())
    }

    /// Liveness reached: every planned change made it into the last configuration, and every
    /// live correct member follows it.
    pub(super) fn finished(&self) -> bool {
        self.stuck_reason().is_none()
    }

    /// Why the run is not finished yet.
    fn stuck_reason(&self) -> Option<String> {
        let l = self.latest();
        if self.rounds_done < self.p.rounds || l.0 < self.p.rounds as u64 {
            return Some(format!(
                "{} of {} admin rounds, last certified epoch {l}",
                self.rounds_done, self.p.rounds
            ));
        }
        let admin = &self.nodes[0];
        if admin
            .subs
            .values()
            .any(|s| s.client.busy() || !s.queue.is_empty())
        {
            return Some(format!("the admin still waits on epoch {l}'s MS"));
        }
        let last = &self.configs[&l];
        let members: BTreeSet<NodeId> = last.members.iter().map(Member::id).collect();
        let gone: Vec<&NodeId> = self
            .removed
            .iter()
            .chain(&self.dead)
            .chain(&self.evidenced)
            .filter(|id| members.contains(id))
            .collect();
        if !gone.is_empty() {
            return Some(format!("{gone:?} are still members in epoch {l}"));
        }
        let missing: Vec<&NodeId> = self
            .added
            .iter()
            .filter(|id| !members.contains(id) && !self.leaving(id))
            .collect();
        if !missing.is_empty() {
            return Some(format!("admitted {missing:?} are not members in epoch {l}"));
        }
        if let Some(c) = self.revoked.iter().find(|c| !last.revoked.contains_key(c)) {
            return Some(format!("client {c:?} is not revoked in epoch {l}"));
        }
        for id in &members {
            let i = self.ix[id];
            let n = &self.nodes[i];
            if !self.correct(i) || !n.alive {
                continue;
            }
            if n.epoch() != l {
                return Some(format!("node {i} follows epoch {}, not {l}", n.epoch()));
            }
            if last.in_ms_group(id) && n.app(l).is_none() {
                return Some(format!("node {i} runs no replica of instance {l}"));
            }
        }
        None
    }

    /// A description of where the run stands, for a liveness failure.
    pub(super) fn stuck(&self) -> String {
        let l = self.latest();
        let handover = self.nodes.iter().find_map(|n| {
            let app = n.app(n.epoch())?;
            let h = app.state.handover()?;
            Some(format!(
                "instance {}: handover to {} with dealings {:?}, complaints {:?}, disqualified {:?}, ready {:?}, chosen {:?}, certified {}",
                app.instance,
                h.statement.epoch,
                h.dealings.iter().map(|d| d.dealer).collect::<Vec<_>>(),
                h.complaints,
                h.disqualified,
                h.ready,
                h.chosen,
                h.cert.is_some()
            ))
        });
        let replicas: Vec<String> = self
            .nodes
            .iter()
            .enumerate()
            .flat_map(|(i, n)| {
                n.insts.iter().filter_map(move |(e, inst)| {
                    let r = inst.replica.as_ref()?;
                    Some(format!(
                        "node {i} instance {e}: view {} active {} executed n{} stable n{}",
                        r.view().0,
                        r.is_active(),
                        r.last_executed().0,
                        r.stable_seq().0
                    ))
                })
            })
            .collect();
        format!(
            "{} at {} ms ({} ms after GST); byzantine {:?} at node {:?}; last epoch {l}; replicas {replicas:?}; {handover:?}",
            self.stuck_reason().unwrap_or_default(),
            self.sched.now(),
            self.sched.now().saturating_sub(self.p.net.gst_ms),
            self.p.byzantine,
            self.byz
        )
    }

    /// The last group signs under the genesis key with its correct holders' shares, and every
    /// correct holder that said it checked the dealings got one.
    pub(super) fn finish(self) -> Result<Outcome, String> {
        let l = self.latest();
        let last = &self.configs[&l];
        if l.0 > 0 {
            // A holder whose `Ready` covered every chosen dealing had checked them (and
            // complained first about any bad one), so it must have a share. One that said
            // ready for fewer may have been lied to after the choice: that needs share repair.
            let ready: Vec<NodeId> = self
                .nodes
                .iter()
                .find_map(|n| n.answer(Epoch(l.0 - 1)).and_then(|a| a.state.handover()))
                .map(|h| {
                    let chosen = h.chosen.clone().unwrap_or_default();
                    let covered = h
                        .dealings
                        .iter()
                        .rposition(|d| chosen.contains(&d.dealer))
                        .map_or(0, |i| i + 1) as u32;
                    h.ready
                        .iter()
                        .filter(|(_, k)| **k >= covered)
                        .map(|(id, _)| *id)
                        .collect()
                })
                .unwrap_or_default();
            for id in ready {
                let i = self.ix[&id];
                if self.correct(i) && self.nodes[i].alive && self.nodes[i].disk_share.is_none() {
                    return Err(format!(
                        "correct new holder {id} reported ready but has no share in epoch {l}"
                    ));
                }
            }
        }
        let shares: Vec<&KeyPackage> = last
            .ms_group
            .iter()
            .map(|id| self.ix[id])
            .filter(|i| self.correct(*i))
            .filter_map(|i| self.nodes[i].disk_share.as_ref())
            .take(last.f_ms as usize + 1)
            .collect();
        let public = self
            .nodes
            .iter()
            .find_map(|n| n.app(l))
            .map(|a| a.state.ms_public().to_vec())
            .ok_or("no replica of the last instance")?;
        let public = PublicKeyPackage::deserialize(&public).map_err(|e| e.to_string())?;
        let mut rng = self.rng.clone();
        let sig = threshold::sign_locally(&shares, &public, b"probe", &mut rng)
            .map_err(|e| format!("the last group cannot sign: {e}"))?;
        self.ms_key
            .verify_strict(b"probe", &sig)
            .map_err(|_| "the last group's signature does not verify".to_string())?;
        Ok(Outcome {
            epochs: l.0,
            steps: self.steps,
            sim_ms: self.sched.now(),
            executed: self.executed,
            last: last.hash(),
            byzantine: self.p.byzantine,
            excluded: self.excluded,
            accused: self.accused.len() as u64,
            accused_evicted: self
                .accused
                .iter()
                .filter(|id| last.member(id).is_none())
                .count() as u64,
        })
    }
}
