//! Writes the seed corpus: `corpus/<target>/seed-<name>` for every seed of
//! `rampart_fuzz::seeds::all` (run from `fuzz/`: `cargo run --example seeds`). Files the
//! fuzzer added beside them are left alone.

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut n = 0;
    for s in rampart_fuzz::seeds::all() {
        let dir = root.join(s.target);
        std::fs::create_dir_all(&dir).expect("creating the corpus directory");
        std::fs::write(dir.join(&s.name), &s.bytes).expect("writing a seed");
        n += 1;
    }
    println!("{n} seeds written under {}", root.display());
}
