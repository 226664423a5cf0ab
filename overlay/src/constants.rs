//! Every bound of the protocols in one place, named with its unit.
//!
//! Decoders, queues and buffers take their limits from here so that a hostile peer or file can
//! never make a node allocate more than these figures allow.

/// Largest encoded certificate accepted from a file or the network.
pub const CERT_BYTES_MAX: usize = 4 * 1024;
/// Most addresses an `Add` certificate or a member may carry.
pub const MEMBER_ADDRS_MAX: usize = 8;
/// Longest address string (a multiaddr in text form).
pub const ADDR_CHARS_MAX: usize = 256;
/// Longest client name in a credential.
pub const CLIENT_NAME_CHARS_MAX: usize = 128;
/// Most members a configuration may list.
pub const MEMBERS_MAX: usize = 200_000;
/// Largest encoded configuration accepted (about 400 bytes a member at the member bound).
pub const CONFIG_BYTES_MAX: usize = 96 * 1024 * 1024;
/// Largest wire message carried by the control protocols (status, configuration exchange).
pub const WIRE_BYTES_MAX: usize = CONFIG_BYTES_MAX + 64 * 1024;
/// Largest encoded MS operation (evidence carries two statements; certificates are bounded).
pub const MS_OP_BYTES_MAX: usize = 2 * CERT_BYTES_MAX;
/// Positions each member takes on the ring by default (virtual nodes).
pub const VNODES_DEFAULT: u32 = 32;
/// Most positions a member may take on the ring.
pub const VNODES_MAX: u32 = 256;
/// Largest replication parameter f a configuration may carry.
pub const F_MAX: u32 = 16;

const _: () = assert!(CERT_BYTES_MAX < WIRE_BYTES_MAX);
const _: () = assert!(CONFIG_BYTES_MAX < WIRE_BYTES_MAX);
const _: () = assert!(VNODES_DEFAULT <= VNODES_MAX);

// What a node keeps for remote requests (crate::guard), per party and in all.

/// Order requests an MS replica keeps a reply channel for, in all.
pub const ORDER_PENDING_MAX: usize = 16_384;
/// Of those, one signer's.
pub const ORDER_PENDING_PER_SIGNER: usize = 512;
/// Of those, kept for the MS replicas' own requests (probes, handover, evictions).
pub const ORDER_PENDING_RESERVED: usize = 2_048;

const _: () = assert!(ORDER_PENDING_RESERVED + ORDER_PENDING_PER_SIGNER <= ORDER_PENDING_MAX);

/// Threshold-signing sessions a node coordinates at once.
pub const SIGNING_SESSIONS_MAX: usize = 64;
/// Of those, kept for epoch certificates: freshness requests never take them.
pub const SIGNING_SESSIONS_RESERVED: usize = 8;
/// Freshness sessions one asking peer may have open at a coordinator.
pub const FRESHNESS_SESSIONS_PER_PEER: usize = 2;
/// Freshness requests one peer may make per second, on average, and at once.
pub const FRESHNESS_PER_SECOND: u32 = 2;
/// See [`FRESHNESS_PER_SECOND`].
pub const FRESHNESS_BURST: u32 = 4;
/// Peers whose request rates a node tracks at once (per rate).
pub const RATE_PARTIES_MAX: usize = 4_096;

const _: () = assert!(SIGNING_SESSIONS_RESERVED < SIGNING_SESSIONS_MAX);

/// Incoming connections in their handshake at once, in all.
pub const CONNECTIONS_PENDING_MAX: u32 = 256;
/// Of those, from one IP address.
pub const CONNECTIONS_PENDING_PER_IP: usize = 32;
/// Incoming connections established at once, not counting members'.
pub const CONNECTIONS_INCOMING_MAX: u32 = 4_096;
/// Of those, from one IP address.
pub const CONNECTIONS_PER_IP: usize = 128;
/// Connections established with one peer id at once (processes of one client share it).
pub const CONNECTIONS_PER_PEER: u32 = 8;

const _: () = assert!(CONNECTIONS_PENDING_PER_IP <= CONNECTIONS_PENDING_MAX as usize);
const _: () = assert!(CONNECTIONS_PER_IP <= CONNECTIONS_INCOMING_MAX as usize);

/// The longest an HTTP analyser token may be valid for, in seconds: short, since a token
/// travels in headers that proxies and browsers may keep.
pub const ANALYST_TOKEN_SECS_MAX: u64 = 3_600;
/// How far ahead of the node's clock the analyst's may run: a token signed for the longest
/// validity is still taken by a node whose clock is this much behind.
pub const ANALYST_CLOCK_SKEW_SECS: u64 = 300;
/// Tokens a node keeps as revoked until they expire, in all.
pub const ANALYST_REVOKED_MAX: usize = 4_096;
/// Of those, revoked by the holder of one credential.
pub const ANALYST_REVOKED_PER_CREDENTIAL: usize = 64;

const _: () = assert!(ANALYST_REVOKED_PER_CREDENTIAL <= ANALYST_REVOKED_MAX);

/// Answers to peers that are not members (configurations, past configurations, the MS
/// state), in KiB a second per peer, on average.
pub const OUTSIDER_ANSWER_KIB_PER_SECOND: u32 = 4 * 1024;
/// See [`OUTSIDER_ANSWER_KIB_PER_SECOND`]: at once, after being quiet.
pub const OUTSIDER_ANSWER_BURST_KIB: u32 = 16 * 1024;
/// Answers to all peers that are not members together, in KiB a second.
pub const OUTSIDERS_ANSWER_KIB_PER_SECOND: u32 = 32 * 1024;
/// See [`OUTSIDERS_ANSWER_KIB_PER_SECOND`]: at once.
pub const OUTSIDERS_ANSWER_BURST_KIB: u32 = 64 * 1024;

const _: () = assert!(OUTSIDER_ANSWER_BURST_KIB <= OUTSIDERS_ANSWER_BURST_KIB);
