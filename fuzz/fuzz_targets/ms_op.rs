//! MS operations (`overlay::ms::Op`), as the MS application executes the op bytes of an
//! ordered request: against the genesis state and against a state with a handover open, for
//! MS members, the newcomer and the authority. Every result must decode as a receipt.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overlay::constants::MS_OP_BYTES_MAX;
use overlay::encoding::decode;
use overlay::ms::{MsApp, Op, Receipt};
use overlay::pbft::Application;
use rampart_fuzz::{HANDOVER_STATE, STATE, SUBMITTERS, roundtrip};

fuzz_target!(|data: &[u8]| {
    if let Ok(op) = decode::<Op>(data, MS_OP_BYTES_MAX) {
        roundtrip(&op, data, MS_OP_BYTES_MAX);
    }
    for state in [&*STATE, &*HANDOVER_STATE] {
        // The authority, the MS members and the newcomer; `admits` turns away the others.
        for who in SUBMITTERS.iter() {
            let mut app = MsApp::new(state.clone());
            if !app.admits(who) {
                continue;
            }
            let out = app.execute(who, data);
            let Some(receipt) = MsApp::decode_receipt(&out) else {
                panic!("a result that is no receipt");
            };
            if matches!(receipt, Receipt::Refused(_) | Receipt::Malformed(_)) {
                assert!(app.state == *state, "a refused operation changed the state");
                continue;
            }
            // The state stays one a replica can snapshot and restore.
            let snap = app.snapshot();
            let mut back = MsApp::new(STATE.clone());
            assert!(
                back.restore(&snap).is_ok(),
                "a snapshot that does not restore"
            );
            assert!(back == app, "a snapshot that restores to another state");
        }
    }
});
