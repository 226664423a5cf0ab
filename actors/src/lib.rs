//! Actix actors that host Rampart's overlay state machines.
//!
//! Actors make no protocol decisions: they receive a message, hand it to a state machine from
//! `overlay`, and perform what it asks (persist, publish, reply). Inputs from the network
//! arrive through bounded mailboxes and `try_send`, so a flood is dropped, not queued.

pub mod db;
pub mod dbqs;
pub mod epochs;
pub mod pbft;
