//! A replica's store reply (`overlay::dbqs::wire::StoreReply`), as a client receives it:
//! versions are verified for the object asked, content objects hashed, values decoded as
//! blobs (manifests).
#![no_main]

use libfuzzer_sys::fuzz_target;
use overlay::dbqs::blob::Blob;
use overlay::dbqs::object::content_id;
use overlay::dbqs::provenance::check_content;
use overlay::dbqs::replica::Reply;
use overlay::dbqs::wire::{STORE_REPLY_BYTES_MAX, StoreReply};
use overlay::encoding::decode;
use rampart_fuzz::{AUTHORITY, roundtrip};

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = decode::<StoreReply>(data, STORE_REPLY_BYTES_MAX) else {
        return;
    };
    roundtrip(&msg, data, STORE_REPLY_BYTES_MAX);
    match &msg.reply {
        Reply::Version(Some(v)) => {
            if v.verify_for(&v.id()).is_ok()
                && let Some(value) = &v.value
            {
                let _ = Blob::from_bytes(value);
            }
        }
        Reply::Content(Some(c)) => {
            let _ = check_content(c, &content_id(&c.bytes), &AUTHORITY);
            let _ = Blob::from_bytes(&c.bytes);
        }
        Reply::Refused(r) => {
            let _ = (r.is_epoch(), r.is_transient(), r.to_string());
        }
        _ => {}
    }
});
