//! The node's part in threshold signing. As a holder of an MS key share it answers commitment
//! and signing rounds, signing only statements its own state approves: freshness of the epoch
//! it is in, and the epoch statement of the handover its own MS replica has open. As a
//! coordinator (any node asked for a freshness certificate; the MS primary for an epoch
//! certificate) it runs an `overlay::threshold::session::Coordinator` over the `tsig`
//! protocol and reports the signature or, at the deadline, why there is none.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use libp2p::PeerId;
use libp2p::request_response::{OutboundRequestId, ResponseChannel};
use overlay::config::Configuration;
use overlay::constants::{
    FRESHNESS_BURST, FRESHNESS_PER_SECOND, FRESHNESS_SESSIONS_PER_PEER, RATE_PARTIES_MAX,
    SIGNING_SESSIONS_MAX as SESSIONS_MAX, SIGNING_SESSIONS_RESERVED,
};
use overlay::encoding::{decode_domain, domain_bytes};
use overlay::epoch::{EpochCert, EpochStatement};
use overlay::freshness::{FreshnessCert, FreshnessStatement};
use overlay::guard::{Class, Rate, RateLimits, ShareLimits, Shares};
use overlay::id::{Epoch, Hash, NodeId};
use overlay::threshold::nonces::Asker;
use overlay::threshold::session::{CoordAction, Coordinator, HolderReply, SignMsg, Signer};
use overlay::threshold::{KeyPackage, PublicKeyPackage};
use overlay::wire::Response;
use rand::RngCore;
use tracing::{debug, info, warn};

use super::peers::peer_id_of;

/// How long a round waits before the coordinator tries other holders.
const ROUND_TIMEOUT_MS: u64 = 1500;

/// What a session signs.
#[derive(Clone, Copy)]
enum Statement {
    Freshness(FreshnessStatement),
    Epoch(EpochStatement),
}

/// A freshness request waiting for the public shares of its epoch.
struct Waiting {
    peer: PeerId,
    nonce: [u8; 32],
    config: Arc<Configuration>,
    channel: ResponseChannel<Response>,
    deadline: Instant,
}

/// What a new session needs.
struct Signing {
    session: Hash,
    statement: Statement,
    public: PublicKeyPackage,
    holders: Vec<NodeId>,
    threshold: usize,
    asker: Option<ResponseChannel<Response>>,
    peer: Option<PeerId>,
}

struct Session {
    coord: Coordinator,
    statement: Statement,
    asker: Option<ResponseChannel<Response>>,
    /// The peer that asked for a freshness certificate.
    peer: Option<PeerId>,
    deadline: Instant,
    peers: HashMap<NodeId, PeerId>,
}

/// What the network task must do for the signing service.
pub enum TsigOut {
    /// Send a round to a holder, then report the request id with [`Tsig::sent`].
    Request {
        /// The holder's peer id.
        peer: PeerId,
        /// The holder.
        holder: NodeId,
        /// The session.
        session: Hash,
        /// The round.
        msg: SignMsg,
    },
    /// Answer the asker on the control protocol.
    Respond {
        /// The asker's channel.
        channel: ResponseChannel<Response>,
        /// The answer.
        response: Response,
    },
    /// An epoch certificate was made: submit it to the MS.
    EpochSigned(EpochCert),
}

/// The signing service's state.
pub struct Tsig {
    me: NodeId,
    signer: Option<Signer>,
    public: Option<PublicKeyPackage>,
    sessions: HashMap<Hash, Session>,
    inflight: HashMap<OutboundRequestId, (Hash, NodeId)>,
    timers: Vec<(Instant, Hash, u32)>,
    deadline: Duration,
    approved_epoch: Option<EpochStatement>,
    public_epoch: Option<Epoch>,
    share_epoch: Option<Epoch>,
    waiting: Vec<Waiting>,
    /// Freshness requests per asking peer and second.
    rate: Rate<PeerId>,
    /// Freshness sessions (and requests waiting for public shares) per asking peer, within
    /// the sessions epoch certificates do not need.
    shares: Shares<PeerId>,
    /// The clock rates and commitments are timed by.
    started: Instant,
}

impl Tsig {
    /// The service of node `me`, holding `signer`'s share if it is an MS holder, and knowing
    /// the MS group's public package if it has one. A session that has not signed within
    /// `deadline` is given up, which must be shorter than the control protocol's request
    /// timeout so that the asker hears why.
    pub fn new(
        me: NodeId,
        share: Option<(KeyPackage, Epoch)>,
        public: Option<(PublicKeyPackage, Epoch)>,
        deadline: Duration,
    ) -> Tsig {
        let share_epoch = share.as_ref().map(|(_, e)| *e);
        let signer = share.map(|(k, _)| Signer::new(k));
        let (public, public_epoch) = match public {
            Some((p, e)) => (Some(p), Some(e)),
            None => (None, None),
        };
        Tsig {
            public_epoch,
            share_epoch,
            waiting: Vec::new(),
            me,
            signer,
            public,
            sessions: HashMap::new(),
            inflight: HashMap::new(),
            timers: Vec::new(),
            deadline,
            approved_epoch: None,
            rate: Rate::new(RateLimits {
                per_second: FRESHNESS_PER_SECOND,
                burst: FRESHNESS_BURST,
                parties_max: RATE_PARTIES_MAX,
            }),
            started: Instant::now(),
            shares: Shares::new(ShareLimits {
                total: SESSIONS_MAX - SIGNING_SESSIONS_RESERVED,
                per_party: FRESHNESS_SESSIONS_PER_PEER,
                reserved: 0,
            }),
        }
    }

    /// Freshness requests refused for their peer's rate, and sessions refused for a peer's
    /// share or the room freshness may use.
    pub fn refused(&self) -> (u64, u64) {
        (self.rate.refused(), self.shares.refused())
    }

    /// Commitment rounds this holder refused for want of room.
    pub fn nonces_refused(&self) -> u64 {
        self.signer.as_ref().map_or(0, |s| s.commits_refused())
    }

    /// The epoch statement this node's MS replica would sign now.
    pub fn approve_epoch(&mut self, statement: Option<EpochStatement>) {
        self.approved_epoch = statement;
    }

    /// Replaces this node's share with one for the MS group of `epoch` (a handover gave it a
    /// new one) or drops it (it left the MS group). The old share's memory is zeroed.
    pub fn set_share(&mut self, key: Option<(KeyPackage, Epoch)>) {
        self.share_epoch = key.as_ref().map(|(_, e)| *e);
        self.signer = key.map(|(k, _)| Signer::new(k));
    }

    /// The MS group of `epoch` holds shares whose public parts are `public`. Freshness
    /// requests that waited for them start now.
    pub fn set_public(&mut self, public: PublicKeyPackage, epoch: Epoch) -> Vec<TsigOut> {
        self.public = Some(public);
        self.public_epoch = Some(epoch);
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|w| w.config.epoch == epoch);
        self.waiting = waiting;
        let mut out = Vec::new();
        for w in ready {
            out.extend(self.begin_freshness(w.nonce, &w.config, w.channel, w.peer));
        }
        out
    }

    /// The epoch whose holders' public shares this node knows.
    pub fn public_epoch(&self) -> Option<Epoch> {
        self.public_epoch
    }

    /// Sessions in progress.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Milliseconds on this service's clock.
    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// A holder's answer to a round from the coordinator `coordinator` (a hash of its peer
    /// id) of `class`, in `epoch`.
    pub fn answer(
        &mut self,
        msg: SignMsg,
        coordinator: Hash,
        class: Class,
        epoch: Epoch,
    ) -> HolderReply {
        let asker = Asker {
            coordinator,
            class,
            now_ms: self.now_ms(),
        };
        let Some(signer) = self.signer.as_mut() else {
            return HolderReply::Refused("this node holds no MS key share".into());
        };
        match msg {
            SignMsg::Commit { session, attempt } => {
                match signer.commit(session, attempt, asker, &mut rand::rngs::OsRng) {
                    Ok(m) => HolderReply::Msg(m),
                    Err(e) => HolderReply::Refused(e.to_string()),
                }
            }
            SignMsg::Sign {
                session,
                attempt,
                package,
            } => match signer.sign(session, attempt, &package, |m| {
                approves(m, epoch, self.share_epoch, self.approved_epoch.as_ref())
            }) {
                Ok(m) => HolderReply::Msg(m),
                Err(e) => HolderReply::Refused(e.to_string()),
            },
            _ => HolderReply::Refused("not a round a holder answers".into()),
        }
    }

    /// Starts a session certifying `nonce` fresh in `config`'s epoch for `peer`; `channel`
    /// gets the certificate or the reason there is none.
    pub fn start_freshness(
        &mut self,
        nonce: [u8; 32],
        config: &Arc<Configuration>,
        channel: ResponseChannel<Response>,
        peer: PeerId,
    ) -> Vec<TsigOut> {
        let now_ms = self.now_ms();
        if !self.rate.allow(&peer, now_ms) {
            return refuse(
                channel,
                "too many freshness requests from this peer; slow down",
            );
        }
        if let Err(e) = self.shares.take(&peer, Class::Outside) {
            return refuse(channel, &format!("freshness signing: {e}"));
        }
        self.begin_freshness(nonce, config, channel, peer)
    }

    /// Starts (or parks until the public shares are known) a freshness session whose room
    /// `peer` already holds.
    fn begin_freshness(
        &mut self,
        nonce: [u8; 32],
        config: &Arc<Configuration>,
        channel: ResponseChannel<Response>,
        peer: PeerId,
    ) -> Vec<TsigOut> {
        // Shares are checked against the public shares of the group that signs: until this
        // node knows them for its epoch (it may have just adopted it), the request waits.
        let public = match &self.public {
            Some(p) if self.public_epoch == Some(config.epoch) => p.clone(),
            _ => {
                self.waiting.push(Waiting {
                    peer,
                    nonce,
                    config: config.clone(),
                    channel,
                    deadline: Instant::now() + self.deadline,
                });
                return Vec::new();
            }
        };
        if self.sessions.len() >= SESSIONS_MAX {
            self.shares.give_back(&peer);
            return refuse(channel, "too many signing sessions in progress; try again");
        }
        let statement = FreshnessStatement {
            nonce,
            epoch: config.epoch,
        };
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let session = Hash::of(&[b"rampart/v1/tsig-session\0", &nonce, &salt]);
        debug!(session = %session.short(), epoch = %config.epoch, "freshness signing started");
        let signing = Signing {
            session,
            statement: Statement::Freshness(statement),
            public,
            holders: config.ms_group.clone(),
            threshold: config.f_ms as usize + 1,
            asker: Some(channel),
            peer: Some(peer),
        };
        self.open(signing, config)
    }

    /// Starts a session and its first round.
    fn open(&mut self, s: Signing, config: &Configuration) -> Vec<TsigOut> {
        let peers = s
            .holders
            .iter()
            .filter_map(|id| Some((*id, peer_id_of(&config.member(id)?.key))))
            .collect();
        let message = match &s.statement {
            Statement::Freshness(f) => f.signed_bytes(),
            Statement::Epoch(e) => domain_bytes(e),
        };
        let mut coord = Coordinator::new(
            s.session,
            message,
            s.public,
            s.holders,
            s.threshold,
            ROUND_TIMEOUT_MS,
        );
        let actions = coord.start();
        self.sessions.insert(
            s.session,
            Session {
                coord,
                statement: s.statement,
                asker: s.asker,
                peer: s.peer,
                deadline: Instant::now() + self.deadline,
                peers,
            },
        );
        self.perform(s.session, actions, config.epoch)
    }

    /// Starts a session getting `statement` signed by `threshold` of the old group's
    /// `holders`, whose public shares are `public`; peers are found in `config`.
    pub fn start_epoch(
        &mut self,
        statement: EpochStatement,
        holders: Vec<NodeId>,
        public: PublicKeyPackage,
        threshold: u32,
        config: &Configuration,
    ) -> Vec<TsigOut> {
        if self.sessions.len() >= SESSIONS_MAX {
            warn!("too many signing sessions; the epoch certificate waits");
            return Vec::new();
        }
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let session = Hash::of(&[b"rampart/v1/tsig-epoch\0", &statement.config_hash.0, &salt]);
        info!(epoch = %statement.epoch, "signing the epoch certificate");
        let signing = Signing {
            session,
            statement: Statement::Epoch(statement),
            public,
            holders,
            threshold: threshold as usize,
            asker: None,
            peer: None,
        };
        self.open(signing, config)
    }

    fn perform(&mut self, session: Hash, actions: Vec<CoordAction>, epoch: Epoch) -> Vec<TsigOut> {
        let mut out = Vec::new();
        let mut queue: VecDeque<CoordAction> = actions.into();
        while let Some(a) = queue.pop_front() {
            match a {
                CoordAction::Send { to, msg } if to == self.me => {
                    // Our own share: no round trip.
                    match self.answer(msg, self.me.0, Class::Own, epoch) {
                        HolderReply::Msg(m) => {
                            if let Some(s) = self.sessions.get_mut(&session) {
                                queue.extend(s.coord.on_message(self.me, m));
                            }
                        }
                        HolderReply::Refused(why) => debug!(%why, "own share refused"),
                    }
                }
                CoordAction::Send { to, msg } => {
                    if let Some(peer) = self.sessions.get(&session).and_then(|s| s.peers.get(&to)) {
                        out.push(TsigOut::Request {
                            peer: *peer,
                            holder: to,
                            session,
                            msg,
                        });
                    }
                }
                CoordAction::SetTimer { attempt, after_ms } => self.timers.push((
                    Instant::now() + Duration::from_millis(after_ms),
                    session,
                    attempt,
                )),
                CoordAction::Excluded { holder, reason } => {
                    warn!(%holder, %reason, "threshold signing: a holder's share was wrong; excluded")
                }
                CoordAction::Done(signature) => {
                    let Some(s) = self.sessions.remove(&session) else {
                        break;
                    };
                    if let Some(p) = &s.peer {
                        self.shares.give_back(p);
                    }
                    match (s.statement, s.asker) {
                        (Statement::Freshness(statement), Some(channel)) => {
                            debug!(session = %session.short(), attempts = s.coord.attempt(), "freshness certificate made");
                            out.push(TsigOut::Respond {
                                channel,
                                response: Response::Freshness(FreshnessCert {
                                    statement,
                                    signature,
                                }),
                            });
                        }
                        (Statement::Epoch(statement), _) => {
                            info!(epoch = %statement.epoch, attempts = s.coord.attempt(), "epoch certificate made");
                            out.push(TsigOut::EpochSigned(EpochCert {
                                statement,
                                signature,
                            }));
                        }
                        (Statement::Freshness(_), None) => {}
                    }
                    break;
                }
            }
        }
        out
    }

    /// The network task sent `session`'s round to `holder` as request `id`.
    pub fn sent(&mut self, id: OutboundRequestId, session: Hash, holder: NodeId) {
        self.inflight.insert(id, (session, holder));
    }

    /// A holder answered request `id`.
    pub fn on_reply(
        &mut self,
        id: OutboundRequestId,
        reply: HolderReply,
        epoch: Epoch,
    ) -> Vec<TsigOut> {
        let Some((session, holder)) = self.inflight.remove(&id) else {
            return Vec::new();
        };
        match reply {
            HolderReply::Msg(m) => {
                let Some(s) = self.sessions.get_mut(&session) else {
                    return Vec::new();
                };
                let actions = s.coord.on_message(holder, m);
                self.perform(session, actions, epoch)
            }
            HolderReply::Refused(why) => {
                debug!(%holder, %why, "holder refused a signing round");
                Vec::new()
            }
        }
    }

    /// Request `id` failed (timeout, connection lost): the round's timer will move on.
    pub fn on_failure(&mut self, id: OutboundRequestId) {
        self.inflight.remove(&id);
    }

    /// Fires due round timers and ends sessions past their deadline.
    pub fn on_tick(&mut self, now: Instant, epoch: Epoch) -> Vec<TsigOut> {
        let mut out = Vec::new();
        let (expired, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|w| w.deadline <= now);
        self.waiting = waiting;
        for w in expired {
            self.shares.give_back(&w.peer);
            out.push(TsigOut::Respond {
                channel: w.channel,
                response: Response::Refused(format!(
                    "this node has not learned the public shares of epoch {}'s MS group yet; try again",
                    w.config.epoch
                )),
            });
        }
        let (due, later): (Vec<_>, Vec<_>) = self.timers.drain(..).partition(|(t, _, _)| *t <= now);
        self.timers = later;
        for (_, session, attempt) in due {
            let Some(s) = self.sessions.get_mut(&session) else {
                continue;
            };
            let actions = s.coord.on_timer(attempt);
            out.extend(self.perform(session, actions, epoch));
        }
        let expired: Vec<Hash> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.deadline <= now)
            .map(|(h, _)| *h)
            .collect();
        for session in expired {
            let Some(s) = self.sessions.remove(&session) else {
                continue;
            };
            if let Some(p) = &s.peer {
                self.shares.give_back(p);
            }
            let excluded = s.coord.excluded().len();
            warn!(session = %session.short(), attempts = s.coord.attempt(), excluded, "freshness signing timed out");
            if let Some(channel) = s.asker {
                out.push(TsigOut::Respond {
                    channel,
                    response: Response::Refused(format!(
                        "the MS group did not give f_ms+1 valid shares within {:.1}s ({} attempts, {excluded} holders excluded for wrong shares)",
                        self.deadline.as_secs_f32(),
                        s.coord.attempt()
                    )),
                });
            }
        }
        self.inflight
            .retain(|_, (s, _)| self.sessions.contains_key(s));
        out
    }
}

fn refuse(channel: ResponseChannel<Response>, why: &str) -> Vec<TsigOut> {
    vec![TsigOut::Respond {
        channel,
        response: Response::Refused(why.into()),
    }]
}

/// What a holder signs: freshness of the epoch it is in, if its share is that epoch's (the
/// node may have adopted an epoch before its replica handed its share over), and the
/// statement of the handover its own MS replica has open, with the share being closed.
fn approves(
    message: &[u8],
    epoch: Epoch,
    share_epoch: Option<Epoch>,
    approved: Option<&EpochStatement>,
) -> bool {
    if let Some(s) = FreshnessStatement::from_signed_bytes(message) {
        return s.epoch == epoch && share_epoch == Some(epoch);
    }
    decode_domain::<EpochStatement>(message, 256)
        .is_some_and(|s| Some(&s) == approved && share_epoch.map(Epoch::next) == Some(s.epoch))
}
