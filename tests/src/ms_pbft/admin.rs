//! The admin's changes and the world's: admissions, removals, revocations, a node that dies.

use overlay::cert::{CertBody, CertContent, Certificate};
use overlay::config::Member;
use overlay::id::{ClientId, Epoch, NodeId};
use overlay::ms::{MsApp, MsError, Op, Receipt};
use rand::seq::SliceRandom;
use rand::{Rng as _, SeedableRng};

use super::world::{T0, World};

impl World {
    fn cert(&self, body: CertBody) -> Certificate {
        Certificate::issue(
            &self.nodes[0].key,
            CertContent {
                body,
                issued_at: T0,
                not_before: T0,
                not_after: T0.plus_secs(30 * 86_400),
            },
        )
    }

    /// One round of admin changes, submitted to the newest instance: always a revocation (so
    /// the epoch closes), often an admission, sometimes a removal.
    pub(super) fn churn(&mut self) -> Result<(), String> {
        if self.rounds_done >= self.p.rounds {
            return Ok(());
        }
        self.rounds_done += 1;
        let l = self.latest();
        let config = self.configs[&l].clone();
        let mut ops = Vec::new();
        let client = ClientId::of(&self.fresh_key().public());
        self.revoked.insert(client);
        ops.push(Op::Revoke(self.cert(CertBody::Revoke { client })));
        if self.rng.gen_bool(0.7) {
            let k = self.fresh_key();
            let id = NodeId::of(&k.public());
            ops.push(Op::Add(self.cert(CertBody::Add {
                node: k.public(),
                addrs: vec!["/ip4/10.0.0.1/tcp/7700".into()],
            })));
            self.added.insert(id);
            self.add_node(k, config.clone(), None);
        }
        // Keep 3f+1 members plus room for a node that dies and the Byzantine one's eviction.
        let staying = config
            .members
            .iter()
            .filter(|m| !self.leaving(&m.id()))
            .count();
        let candidates: Vec<NodeId> = config
            .members
            .iter()
            .map(Member::id)
            .filter(|id| !self.leaving(id) && self.correct(self.ix[id]))
            .filter(|id| self.reporter != Some(self.ix[id]))
            .collect();
        if staying > 6 && self.rng.gen_bool(0.5) {
            let node = *candidates.choose(&mut self.rng).ok_or("no candidate")?;
            self.removed.insert(node);
            ops.push(Op::Remove(self.cert(CertBody::Remove { node })));
        }
        for op in ops {
            self.submit(0, l, MsApp::encode_op(&op))?;
        }
        Ok(())
    }

    /// Whether `id` was removed, died or was proven Byzantine: it must leave (or, caught
    /// equivocating in PBFT, may).
    pub(super) fn leaving(&self, id: &NodeId) -> bool {
        self.removed.contains(id)
            || self.dead.contains(id)
            || self.evidenced.contains(id)
            || self.accused.contains(id)
    }

    fn fresh_key(&mut self) -> overlay::crypto::SecretKey {
        self.next_key += 1;
        let mut r =
            rand_chacha::ChaCha20Rng::seed_from_u64(self.next_key ^ self.rng.r#gen::<u64>());
        overlay::crypto::SecretKey::generate(&mut r)
    }

    /// The admin's operation got its receipt from instance `e`.
    pub(super) fn admin_done(
        &mut self,
        e: Epoch,
        op: Vec<u8>,
        result: &[u8],
    ) -> Result<(), String> {
        match MsApp::decode_receipt(result) {
            Some(Receipt::Queued) => Ok(()),
            // The instance handed over before ordering it: the next one will.
            Some(Receipt::Refused(MsError::HandedOver(_))) => {
                let l = self.latest();
                if l == e {
                    return Err(format!(
                        "instance {e} refused as handed over, but is the newest"
                    ));
                }
                self.submit(0, l, op)
            }
            other => Err(format!("instance {e} answered the admin with {other:?}")),
        }
    }

    /// A correct member outside the MS group dies for good; correct MS replicas report it.
    pub(super) fn die(&mut self) {
        let l = self.latest();
        let config = &self.configs[&l];
        let staying = config
            .members
            .iter()
            .filter(|m| !self.leaving(&m.id()))
            .count();
        // Also out of any group a handover of the newest instance is opening.
        let next_group: Vec<NodeId> = self
            .nodes
            .iter()
            .filter_map(|n| n.app(l))
            .filter_map(|a| a.state.handover().filter(|h| !h.is_complete()))
            .flat_map(|h| h.new_holders.iter().map(NodeId::of).collect::<Vec<_>>())
            .collect();
        let candidates: Vec<usize> = config
            .members
            .iter()
            .map(Member::id)
            .filter(|id| !config.in_ms_group(id) && !self.leaving(id) && !next_group.contains(id))
            .map(|id| self.ix[&id])
            .filter(|i| self.correct(*i) && self.nodes[*i].alive && self.reporter != Some(*i))
            .collect();
        if staying <= 6 || candidates.is_empty() {
            return;
        }
        let i = candidates[self.rng.gen_range(0..candidates.len())];
        self.nodes[i].crash();
        self.nodes[i].dead = true;
        self.dead.insert(self.nodes[i].id);
    }
}
