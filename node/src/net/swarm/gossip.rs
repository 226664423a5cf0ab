//! Gossip: liveness probes (an MS replica publishes a signed challenge every round and reports
//! members that missed `misses` rounds in a row; every node answers the challenges of its
//! epoch's MS replicas) and epoch news (a new epoch's certificate and delta).

use std::time::{Duration, Instant};

use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance};
use overlay::ms::Op;
use overlay::probe::{self, ProbeMsg, Prober};
use overlay::wire::EventKind;
use rand::RngCore;
use tracing::{debug, warn};

use super::NetTask;
use crate::net::behaviour::{EPOCH_TOPIC, PROBE_TOPIC};
use overlay::config::{Configuration, Delta};
use overlay::epoch::EpochCert;
use overlay::epoch::news::{self, EpochNews, NewsOutcome};

/// How probing is paced.
#[derive(Debug, Clone, Copy)]
pub struct ProbeSettings {
    /// Time between an MS replica's challenges.
    pub interval: Duration,
    /// Missed rounds in a row before a member is reported.
    pub misses: u32,
}

impl NetTask {
    /// Joins the gossip topics.
    pub(super) fn subscribe_probes(&mut self) {
        for topic in [PROBE_TOPIC, EPOCH_TOPIC] {
            if let Err(e) = self
                .swarm
                .behaviour_mut()
                .gossip
                .subscribe(&IdentTopic::new(topic))
            {
                warn!(error = %e, topic, "cannot subscribe to a gossip topic");
            }
        }
    }

    /// Publishes a new epoch's certificate and its delta from `old`.
    pub(super) fn publish_epoch(
        &mut self,
        old: &Configuration,
        new: &Configuration,
        cert: EpochCert,
    ) {
        let news = EpochNews {
            cert,
            delta: Delta::between(old, new),
        };
        // Not published (no peer subscribed yet): peers fetch the configuration anyway.
        self.publish(EPOCH_TOPIC, overlay::encoding::encode(&news));
    }

    fn publish(&mut self, topic: &str, bytes: Vec<u8>) {
        if let Err(e) = self
            .swarm
            .behaviour_mut()
            .gossip
            .publish(IdentTopic::new(topic), bytes)
        {
            debug!(error = %e, topic, "gossip message not published");
        }
    }

    /// Applies epoch news; says whether gossip may forward it (only news that checks out
    /// against the MS key is, so that junk dies at the first correct node).
    fn on_epoch_news(&mut self, source: libp2p::PeerId, bytes: &[u8]) -> MessageAcceptance {
        let config = self.view.borrow().config.clone();
        match news::check(bytes, &config, &self.ms_key) {
            Ok((n, NewsOutcome::Next(next))) => {
                debug!(epoch = %next.epoch, "epoch news applied");
                self.offer(format!("gossip via {source}"), *next, n.cert);
                MessageAcceptance::Accept
            }
            // The certificate verified; the delta can be checked only against its hash
            // here (this node is behind, or has the epoch already). News of the node's own
            // epoch is still forwarded: peers may not have it yet.
            Ok((n, NewsOutcome::Behind)) => {
                self.ask_config(&source);
                delta_named(&n)
            }
            Ok((n, NewsOutcome::Old)) if n.cert.statement.epoch == config.epoch => delta_named(&n),
            Ok((_, NewsOutcome::Old)) => MessageAcceptance::Ignore,
            Err(e) => {
                debug!(%source, error = %e, "epoch news dropped");
                MessageAcceptance::Reject
            }
        }
    }

    /// Not published (no peer subscribed yet, a duplicate): the next round tries again.
    fn publish_probe(&mut self, msg: &ProbeMsg) {
        self.publish(PROBE_TOPIC, overlay::encoding::encode(msg));
    }

    /// An MS replica's round, when one is due.
    pub(super) fn probe_tick(&mut self) {
        if self.pbft.is_none() {
            self.prober = None;
            return;
        }
        let now = Instant::now();
        if self
            .last_probe
            .is_some_and(|t| now < t + self.probe_settings.interval)
        {
            return;
        }
        self.last_probe = Some(now);
        let config = self.view.borrow().config.clone();
        if self
            .prober
            .as_ref()
            .is_none_or(|p| p.epoch() != config.epoch)
        {
            self.prober = Some(Prober::new(
                self.me,
                config.epoch,
                self.probe_settings.misses,
            ));
        }
        let mut nonce = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let Some(prober) = self.prober.as_mut() else {
            return;
        };
        let (msg, report) = prober.next_round(&self.key, &config, nonce);
        self.publish_probe(&msg);
        for node in report {
            warn!(%node, misses = self.probe_settings.misses, "member missed its probes; reporting it to the MS");
            self.health.note(
                config.epoch,
                EventKind::Unresponsive,
                node.0,
                format!(
                    "node {} missed {} probe rounds in a row; reported to the MS",
                    node.0.short(),
                    self.probe_settings.misses
                ),
            );
            self.submitter.submit(Op::Unresponsive { node });
        }
        let outs = self.submitter.poll(now);
        self.submit_do(outs);
    }

    /// A gossip message: checked before gossip may forward it (`validate_messages`).
    pub(super) fn on_gossip(&mut self, ev: gossipsub::Event) {
        let gossipsub::Event::Message {
            message,
            propagation_source,
            message_id,
        } = ev
        else {
            return;
        };
        let acceptance = self.check_gossip(&message, propagation_source);
        self.swarm
            .behaviour_mut()
            .gossip
            .report_message_validation_result(&message_id, &propagation_source, acceptance);
    }

    fn check_gossip(
        &mut self,
        message: &gossipsub::Message,
        propagation_source: libp2p::PeerId,
    ) -> MessageAcceptance {
        // Only members publish (MS replicas their challenges and epoch news, members their
        // answers): anything authored elsewhere is junk and is not forwarded.
        let from_member = message
            .source
            .is_some_and(|p| self.members.contains_key(&p) || p == *self.swarm.local_peer_id());
        if !from_member {
            self.counters.gossip_rejected += 1;
            return MessageAcceptance::Reject;
        }
        if message.topic == IdentTopic::new(EPOCH_TOPIC).hash() {
            return self.on_epoch_news(propagation_source, &message.data);
        }
        let config = self.view.borrow().config.clone();
        match probe::check(&message.data, &config) {
            Ok(ProbeMsg::Challenge(c, _)) => {
                if config.member(&self.me).is_some()
                    && self.liar.as_ref().is_none_or(|l| l.speaks())
                {
                    let answer = probe::answer(&self.key, &c);
                    self.publish_probe(&answer);
                }
                MessageAcceptance::Accept
            }
            Ok(ProbeMsg::Answer(a, _)) => {
                self.health.on_probe_answer(a.from);
                if let Some(p) = self.prober.as_mut() {
                    p.on_answer(&a);
                }
                MessageAcceptance::Accept
            }
            Err(e) => {
                debug!(error = %e, "probe dropped");
                self.counters.gossip_rejected += 1;
                MessageAcceptance::Reject
            }
        }
    }
}

/// Forward news whose delta is the one its certificate names; reject it otherwise.
fn delta_named(n: &EpochNews) -> MessageAcceptance {
    if n.delta.hash() == n.cert.statement.delta_hash {
        MessageAcceptance::Accept
    } else {
        MessageAcceptance::Reject
    }
}
