//! Empty on purpose: it exists so that the `cc` build-dependency in Cargo.toml takes part in
//! feature unification (see the comment there).
fn main() {}
