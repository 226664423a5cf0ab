//! The network task's part in the membership service's own work: carrying what this node's
//! MS replica decides, following handovers, and, for a node named in the next MS group that is
//! not a replica of the current instance, joining through what f_ms+1 old replicas report.

use std::sync::Arc;
use std::time::Instant;

use actors::pbft::{Deliver, InstanceLink, start_instance};
use libp2p::PeerId;
use overlay::cert::Certificate;
use overlay::encoding::{decode, encode};
use overlay::id::NodeId;
use overlay::ms::driver::DriverAction;
use overlay::ms::{Handover, State};
use overlay::pbft::Event;
use overlay::threshold::PublicKeyPackage;
use overlay::wire::{Request, Response};
use tracing::{info, warn};

use super::{NetTask, PbftLink, Retired, peer_id_of, peer_id_of_self};
use crate::net::submitter::SubmitOut;

impl NetTask {
    /// Sends the node's own requests to every replica of its instance, itself included.
    pub(super) fn submit_do(&mut self, outs: Vec<SubmitOut>) {
        let me = peer_id_of_self(&self.swarm);
        let peers: Vec<PeerId> = self.submitter.replicas().iter().map(peer_id_of).collect();
        for SubmitOut::Send(request) in outs {
            for peer in &peers {
                if *peer == me {
                    let delivered = self.pbft.as_ref().is_some_and(|link| {
                        link.replica
                            .try_send(Deliver(Event::Request(request.clone())))
                            .is_ok()
                    });
                    if !delivered {
                        self.counters.pbft_dropped += 1;
                    }
                } else {
                    self.swarm
                        .behaviour_mut()
                        .order
                        .send_request(peer, request.clone());
                }
            }
        }
    }

    /// What this node's MS replica decided.
    pub(super) fn on_ms(&mut self, action: DriverAction) {
        match action {
            DriverAction::Submit(op) => {
                self.submitter.submit(*op);
                let outs = self.submitter.poll(Instant::now());
                self.submit_do(outs);
            }
            DriverAction::SignEpoch {
                statement,
                holders,
                public,
                threshold,
            } => match PublicKeyPackage::deserialize(&public) {
                Ok(public) => {
                    let config = self.view.borrow().config.clone();
                    let outs = self
                        .tsig
                        .start_epoch(statement, holders, public, threshold, &config);
                    self.tsig_do(outs);
                }
                Err(e) => warn!(error = %e, "the old group's public package does not decode"),
            },
            DriverAction::NewShare { epoch, key } => {
                if let Err(e) = self.shares.replace(&key) {
                    warn!(error = %e, %epoch, "cannot store the new MS key share");
                }
                self.tsig.set_share(Some((*key, epoch)));
            }
            DriverAction::Adopt {
                config,
                cert,
                ms_public,
            } => {
                match PublicKeyPackage::deserialize(&ms_public) {
                    Ok(p) => {
                        let outs = self.tsig.set_public(p, config.epoch);
                        self.tsig_do(outs);
                    }
                    Err(e) => warn!(error = %e, "the new MS public package does not decode"),
                }
                info!(epoch = %config.epoch, "the MS certified a new epoch");
                let old = self.view.borrow().config.clone();
                if old.epoch.next() == config.epoch {
                    self.publish_epoch(&old, &config, cert);
                }
                self.offer("this node's MS replica".into(), *config, cert);
            }
        }
    }

    /// This node's MS instance handed over: follow the next one, or leave the MS group. The
    /// state it handed over is kept to serve next-group holders that were not replicas.
    pub(super) fn on_handover(&mut self, state: Arc<State>, next: Option<InstanceLink>) {
        self.retiring = self.pbft.take();
        self.retired = Some(Retired {
            epoch: state.config().epoch,
            bytes: Arc::new(encode(&*state)),
            handover: state.handover().cloned(),
        });
        match next {
            Some(link) => {
                let cfg = overlay::pbft::Config::for_ms(&link.config);
                self.submitter.set_instance(Some(cfg));
                self.pbft = Some(PbftLink::of(link));
            }
            None => {
                self.submitter.set_instance(None);
                self.tsig.set_share(None);
                self.shares.erase();
                info!("left the MS group; its key share is erased");
            }
        }
    }

    /// The MS replicas of the current configuration, and how many must agree.
    fn ms_peers(&self) -> (Vec<PeerId>, usize) {
        let config = self.handover_source();
        let peers = config
            .ms_group
            .iter()
            .filter_map(|id| config.member(id))
            .map(|m| peer_id_of(&m.key))
            .collect();
        (peers, config.f_ms as usize + 1)
    }

    /// The configuration whose MS replicas run the handover an outsider follows: the current
    /// one, unless this node already adopted the epoch that names it a holder (epoch news can
    /// outrun the handover) and has not joined yet; then the previous one, whose replicas
    /// handed over.
    fn handover_source(&self) -> Arc<overlay::config::Configuration> {
        let current = self.view.borrow().config.clone();
        let named = current.in_ms_group(&self.me) && self.pbft.is_none();
        match &self.prev_config {
            Some(prev) if named && prev.epoch.next() == current.epoch => prev.clone(),
            _ => current,
        }
    }

    /// Not a replica, or not knowing the current holders' public shares yet (epoch news can
    /// outrun one's own replica): ask the MS replicas for the handover, now and then.
    pub(super) fn outsider_tick(&mut self) {
        let stale = self.tsig.public_epoch() != Some(self.current_epoch());
        if (self.pbft.is_some() && !stale)
            || self.ms_runtime.is_none()
            || !self.outsider.due(Instant::now())
        {
            return;
        }
        let (peers, _) = self.ms_peers();
        for p in peers {
            self.swarm
                .behaviour_mut()
                .control
                .send_request(&p, Request::Handover);
        }
    }

    /// A replica's view of the handover.
    pub(super) fn on_handover_view(&mut self, peer: PeerId, view: Option<Box<Handover>>) {
        let (peers, need) = self.ms_peers();
        if !peers.contains(&peer) {
            return;
        }
        let Some(h) = self.outsider.on_view(peer, view.map(|v| *v), need) else {
            return;
        };
        // The handover that made the current epoch names the current holders' public shares,
        // which a node outside the MS group needs to check shares when it coordinates.
        if h.is_complete()
            && h.statement.epoch == self.current_epoch()
            && let Some(p) = h.new_public.as_ref()
            && let Ok(p) = PublicKeyPackage::deserialize(p)
        {
            let outs = self.tsig.set_public(p, h.statement.epoch);
            self.tsig_do(outs);
        }
        if self.pbft.is_some() {
            return;
        }
        // Only a handover into an epoch this node has not passed: the next one, or the
        // current one when its news outran the handover and names this node. A late answer
        // about an older handover (this node may have been a holder then) must not make it
        // rebuild an old share and start an old instance (seen on 7 processes: a node that had
        // just left the group started epoch 2's instance again while in epoch 3).
        let current = self.view.borrow().config.clone();
        let into = h.statement.epoch;
        let fresh =
            into > current.epoch || (into == current.epoch && current.in_ms_group(&self.me));
        if !fresh {
            return;
        }
        let me = self.me;
        if !h
            .new_holders
            .iter()
            .any(|k| overlay::id::NodeId::of(k) == me)
        {
            return;
        }
        // Reports go to the old instance, whose replicas are the current MS group.
        let old = overlay::pbft::Config::for_ms(&self.handover_source());
        if self.submitter.instance() != Some(old.instance) {
            self.submitter.set_instance(Some(old));
        }
        for a in self.outsider.driver().tick_outsider(&h) {
            match a {
                DriverAction::Submit(op) => self.submitter.submit(*op),
                DriverAction::NewShare { epoch, key } => {
                    if let Err(e) = self.shares.replace(&key) {
                        warn!(error = %e, %epoch, "cannot store the new MS key share");
                    }
                    self.tsig.set_share(Some((*key.clone(), epoch)));
                    self.joining = Some((epoch, *key, h.clone()));
                    info!(%epoch, "built our share of the MS key; fetching the handed-over state");
                }
                _ => {}
            }
        }
        if let Some((epoch, _, _)) = &self.joining {
            for p in &peers {
                self.swarm
                    .behaviour_mut()
                    .control
                    .send_request(p, Request::MsState { epoch: *epoch });
            }
        }
        let outs = self.submitter.poll(Instant::now());
        self.submit_do(outs);
    }

    /// A replica sent the state it handed over: once f_ms+1 sent the same, start the next
    /// instance from it.
    pub(super) fn on_ms_state(&mut self, peer: PeerId, bytes: Vec<u8>) {
        if self.pbft.is_some() || self.joining.is_none() {
            return;
        }
        let (peers, need) = self.ms_peers();
        if !peers.contains(&peer) || !self.outsider.on_state(peer, &bytes, need) {
            return;
        }
        let Some((epoch, key, h)) = self.joining.take() else {
            return;
        };
        if epoch < self.current_epoch() {
            warn!(%epoch, current = %self.current_epoch(), "not joining an MS group of a past epoch");
            return;
        }
        let state: State = match decode(&bytes, overlay::constants::WIRE_BYTES_MAX) {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "the handed-over state does not decode");
                return;
            }
        };
        let config = state.config().clone();
        if config.epoch != epoch || config.hash() != h.statement.config_hash {
            self.joining = Some((epoch, key, h));
            warn!(%epoch, "the handed-over state is not the certified configuration");
            return;
        }
        let Some(cert) = h.cert else { return };
        let Some(rt) = &self.ms_runtime else { return };
        match start_instance(
            &rt.successor,
            state.clone(),
            &config,
            Some(key),
            &rt.arbiter,
        ) {
            Ok(link) => {
                info!(%epoch, "joined the MS group: the next instance starts here");
                if let Ok(p) = PublicKeyPackage::deserialize(state.ms_public()) {
                    let outs = self.tsig.set_public(p, epoch);
                    self.tsig_do(outs);
                }
                self.submitter
                    .set_instance(Some(overlay::pbft::Config::for_ms(&config)));
                self.pbft = Some(PbftLink::of(link));
                self.outsider.reset();
                self.offer("the MS handover".into(), config, cert);
            }
            Err(e) => warn!(error = %e, "cannot start the MS instance"),
        }
    }

    /// A joining node: until the configuration lists us, ask connected members to hand our
    /// admission to the MS.
    pub(super) fn ask_admission(&mut self) {
        let Some(cert) = &self.admission else { return };
        if self.view.borrow().config.member(&self.me).is_some() {
            info!("this node is a member now");
            self.admission = None;
            return;
        }
        for p in self.connected_members().into_iter().take(2) {
            self.swarm
                .behaviour_mut()
                .control
                .send_request(&p, Request::Admit(Box::new(cert.clone())));
        }
    }

    /// Another node's admission: if the authority signed it, submit it to the MS.
    pub(super) fn relay_admission(&mut self, cert: Certificate) -> Response {
        if cert.content.body.kind() != "add" {
            return Response::Refused("only add certificates are relayed".into());
        }
        if let Err(e) = cert.verify(&self.authority, crate::timeutil::now()) {
            return Response::Refused(format!("admission refused: {e}"));
        }
        self.submit_to_ms(overlay::ms::Op::Add(cert));
        Response::Relayed
    }

    /// Submits `op` to the current MS group, from any member (not only MS replicas).
    fn submit_to_ms(&mut self, op: overlay::ms::Op) {
        if self.submitter.instance().is_none() {
            let cfg = overlay::pbft::Config::for_ms(&self.view.borrow().config);
            self.submitter.set_instance(Some(cfg));
        }
        self.submitter.submit(op);
        let outs = self.submitter.poll(Instant::now());
        self.submit_do(outs);
    }

    /// Proof of misbehaviour this node found: log it, show it, and hand it to the MS, which
    /// revokes the client or evicts the node at the next epoch. Each culprit is reported once.
    pub(super) fn report_evidence(&mut self, evidence: overlay::ms::Evidence) {
        let Some(culprit) = evidence.culprit(&self.view.borrow().config) else {
            return;
        };
        let node = NodeId::of(&culprit);
        let is_member = self.view.borrow().config.member(&node).is_some();
        let (subject, role) = if is_member {
            (node.0, "node")
        } else {
            (overlay::id::ClientId::of(&culprit).0, "client")
        };
        if !self.health.first_report(subject) {
            return;
        }
        let what = evidence.describe();
        let epoch = self.current_epoch();
        warn!(
            culprit = %subject.short(),
            role,
            "{what}: reporting the proof to the membership service"
        );
        self.health.note(
            epoch,
            overlay::wire::EventKind::Evidence,
            subject,
            format!("{role} {} {what}; proof sent to the MS", subject.short()),
        );
        let op = overlay::ms::Op::Misbehaviour(evidence);
        let size = overlay::ms::MsApp::encode_op(&op).len();
        if size > overlay::pbft::OP_BYTES_MAX {
            // A pre-prepare with a large batch: the MS cannot order a proof this big.
            warn!(
                size,
                "the proof is too large for the MS to order; not submitted"
            );
            return;
        }
        self.submit_to_ms(op);
    }

    /// Answers `Handover` and `MsState` requests.
    pub(super) fn answer_ms(&self, request: &Request) -> Response {
        match request {
            Request::Handover => {
                let live = self
                    .pbft
                    .as_ref()
                    .and_then(|l| l.view.borrow().handover.clone())
                    .map(|h| (*h).clone());
                let kept = || self.retired.as_ref().and_then(|r| r.handover.clone());
                Response::Handover(live.or_else(kept).map(Box::new))
            }
            Request::MsState { epoch } => match &self.retired {
                Some(r) if r.epoch == *epoch => Response::MsState((*r.bytes).clone()),
                _ => Response::Refused(format!("no handed-over MS state for epoch {epoch}")),
            },
            _ => Response::Refused("not an MS request".into()),
        }
    }
}
