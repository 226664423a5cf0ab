//! What benchmarks measure beside their own figures: this machine's ed25519 and fsync rates,
//! so each figure comes with a bound measured in the same run.

use std::time::{Duration, Instant};

use overlay::crypto::SecretKey;

/// Operations per second of `op`, run for at least `min`.
pub fn rate(mut op: impl FnMut(), min: Duration) -> f64 {
    let t0 = Instant::now();
    let mut n = 0u64;
    while t0.elapsed() < min {
        for _ in 0..64 {
            op();
        }
        n += 64;
    }
    n as f64 / t0.elapsed().as_secs_f64()
}

/// This machine's ed25519 (signs/s, verifies/s) on one core.
pub fn crypto_rates() -> (f64, f64) {
    let key = SecretKey::from_seed(&[7; 32]);
    let msg = [0u8; 200];
    let sig = key.sign_raw(&msg);
    let public = key.public();
    let sign = rate(
        || {
            std::hint::black_box(key.sign_raw(std::hint::black_box(&msg)));
        },
        Duration::from_secs(2),
    );
    let verify = rate(
        || {
            assert!(
                public
                    .verify_strict(std::hint::black_box(&msg), &sig)
                    .is_ok()
            )
        },
        Duration::from_secs(2),
    );
    (sign, verify)
}

/// fsyncs per second on this disk: 4 KiB writes, each followed by `sync_data`.
pub fn fsync_rate() -> f64 {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut f = std::fs::File::create(dir.path().join("f")).expect("temp file");
    let block = [0u8; 4096];
    rate(
        || {
            f.write_all(&block).expect("write");
            f.sync_data().expect("fsync");
        },
        Duration::from_secs(2),
    )
}
