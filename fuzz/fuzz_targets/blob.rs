//! Stored values (`Blob::from_bytes`): inline values and manifests of chunked ones, as a
//! replica checks a written version's value and a client reads one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overlay::dbqs::blob::{Blob, CHUNK_BYTES};
use overlay::dbqs::object::VALUE_BYTES_MAX;
use overlay::dbqs::replica::CONTENT_BYTES_MAX;
use rampart_fuzz::roundtrip;

fuzz_target!(|data: &[u8]| {
    let Ok(b) = Blob::from_bytes(data) else {
        return;
    };
    roundtrip(&b, data, VALUE_BYTES_MAX.max(CONTENT_BYTES_MAX) + 16);
    assert!(Blob::from_bytes(&b.to_bytes()).ok() == Some(b.clone()));
    if let Blob::Chunked(m) = &b {
        let total: u64 = (0..m.chunks.len()).map(|i| m.chunk_len(i) as u64).sum();
        assert_eq!(total, m.size, "the chunks do not add up to the size");
        assert!((m.chunk_bytes as usize) <= CONTENT_BYTES_MAX.max(CHUNK_BYTES));
    }
    let _ = b.size();
});
