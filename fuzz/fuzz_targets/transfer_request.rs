//! A replica's transfer request (`overlay::transfer::wire::TransferRequest`), as the old
//! replica receives it: whether it may answer, which ranges it holds completely, and the
//! page it would list.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overlay::encoding::decode;
use overlay::transfer::page::{Held, Listed, page_of};
use overlay::transfer::wire::{Ask, TRANSFER_REQUEST_BYTES_MAX, TransferRequest};
use rampart_fuzz::{mover, roundtrip};

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = decode::<TransferRequest>(data, TRANSFER_REQUEST_BYTES_MAX) else {
        return;
    };
    roundtrip(&msg, data, TRANSFER_REQUEST_BYTES_MAX);
    let m = mover();
    let _ = m.may_answer(&msg.ask);
    match &msg.ask {
        Ask::Complete { epoch, ranges } => {
            assert_eq!(m.complete(*epoch, ranges).len(), ranges.len());
        }
        Ask::List { req, .. } => {
            let held = (0u8..64).map(|i| Listed {
                id: overlay::id::Hash([i.wrapping_mul(4); 32]),
                held: Held::Content,
            });
            let page = page_of(req, held);
            assert!(page.entries.len() <= overlay::transfer::page::PAGE_ENTRIES_MAX);
        }
        Ask::Get { .. } => {}
    }
});
