//! The transfer mover's saved state (`<data_dir>/transfer.state`, decoded as
//! `overlay::transfer::mover::Saved` under the node's 64 MiB bound): a mover resumed from it
//! reports, answers, sweeps and moves on to the next epoch.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overlay::encoding::decode;
use overlay::ring::Range;
use overlay::transfer::mover::{Mover, Saved, Settings};
use overlay::transfer::wire::Ask;
use rampart_fuzz::{AUTHORITY, CONFIG, NEXT, roundtrip};

/// The node's bound on the file (`node/src/net/swarm/transfer.rs`).
const SAVED_BYTES_MAX: usize = 64 * 1024 * 1024;

fuzz_target!(|data: &[u8]| {
    let Ok(saved) = decode::<Saved>(data, SAVED_BYTES_MAX) else {
        return;
    };
    roundtrip(&saved, data, SAVED_BYTES_MAX);
    let mut m = Mover::new(
        CONFIG.members[0].id(),
        *AUTHORITY,
        Settings::default(),
        saved,
    );
    let _ = m.report();
    let _ = m.complete(CONFIG.epoch, &[Range::full()]);
    let _ = m.may_answer(&Ask::Complete {
        epoch: CONFIG.epoch,
        ranges: vec![],
    });
    let _ = m.on_epoch(&CONFIG, None);
    let _ = m.sweep();
    let _ = m.on_timer();
    let _ = m.on_epoch(&NEXT, Some(&CONFIG));
    let _ = m.on_config(&CONFIG);
    let _ = m.admit(&overlay::id::Hash([7; 32]), 1);
    let _ = m.report();
});
