//! MS receipts (`MsApp::decode_receipt`), as a submitter decodes the agreed result.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overlay::ms::MsApp;
use rampart_fuzz::roundtrip;

fuzz_target!(|data: &[u8]| {
    let Some(r) = MsApp::decode_receipt(data) else {
        return;
    };
    roundtrip(&r, data, 64 * 1024);
    let _ = format!("{r:?}");
});
