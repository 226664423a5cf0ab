//! The MS state (`overlay::ms::State`), as a joining MS replica decodes the state handed
//! over (and a node the state kept in its data directory, both under `WIRE_BYTES_MAX`), and
//! the MS application's snapshot (`MsApp::restore`, under `MESSAGE_BYTES_MAX`). A replica
//! started from it looks at its key, its handover and its queue, and closes the epoch.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overlay::constants::WIRE_BYTES_MAX;
use overlay::encoding::decode;
use overlay::ms::driver::Driver;
use overlay::ms::{MsApp, Op, State};
use overlay::pbft::{Application, MESSAGE_BYTES_MAX};
use rampart_fuzz::{NOW, STATE, key, roundtrip};

fn exercise(s: &State) {
    let _ = s.config().hash();
    let _ = s.config().validate();
    let _ = s.ms_key();
    let _ = s.leaving();
    let _ = s.admits(&key(1).public());
    if let Some(h) = s.handover() {
        let _ = h.plan();
        let _ = h.is_complete();
        let _ = overlay::ms::roles::missing_dealers(h);
        let _ = Driver::new(key(1), None, 1000).tick_outsider(h);
    }
    let app = MsApp::new(s.clone());
    let _ = app.handed_over();
    let _ = Driver::open_statement(&app);
    let mut next = s.clone();
    let _ = next.apply(
        &key(1).public(),
        Op::NewEpoch {
            closing: s.config().epoch,
            now: NOW,
        },
    );
    let mut ready = s.clone();
    let _ = ready.apply(&key(1).public(), Op::Ready { checked: 1 });
}

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = decode::<State>(data, WIRE_BYTES_MAX) {
        roundtrip(&s, data, WIRE_BYTES_MAX);
        exercise(&s);
    }
    let mut app = MsApp::new(STATE.clone());
    if app.restore(data).is_ok() {
        roundtrip(&app, data, MESSAGE_BYTES_MAX);
        exercise(&app.state);
    }
});
