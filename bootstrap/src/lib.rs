//! Creating a Rampart system and the files it is made of.
//!
//! The authority's tools (DESIGN.md §1, the seed's "Cloud Manager" done with certificates):
//! an authority key, certificates for nodes and clients, a registry of what was issued, and
//! the genesis that turns a set of admission certificates into epoch 0, its MS group and the
//! MS key shares. Every file this crate reads is treated as hostile: bounded in size, checked,
//! and refused with an error that names the file and the reason.

pub mod admin;
pub mod admission;
pub mod bundle;
pub mod certfile;
pub mod credential;
pub mod files;
pub mod genesis;
pub mod keyfile;
pub mod registry;

pub use files::FileError;
