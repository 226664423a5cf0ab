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
