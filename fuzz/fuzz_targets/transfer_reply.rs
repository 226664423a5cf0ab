//! A transfer reply (`overlay::transfer::wire::TransferReply`), as the fetching replica
//! receives it: a listing page fed to a fetch from every old replica, or an object fed to a
//! fetch that asked for it, which verifies it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overlay::dbqs::client::Group;
use overlay::dbqs::object::content_id;
use overlay::dbqs::replica::Reply;
use overlay::encoding::decode;
use overlay::ring::Range;
use overlay::transfer::fetch::{Fetch, Out};
use overlay::transfer::page::{Held, ListPage, Listed};
use overlay::transfer::wire::{Answer, TRANSFER_REPLY_BYTES_MAX, TransferReply};
use rampart_fuzz::{AUTHORITY, roundtrip};

const N: usize = 4;

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = decode::<TransferReply>(data, TRANSFER_REPLY_BYTES_MAX) else {
        return;
    };
    roundtrip(&msg, data, TRANSFER_REPLY_BYTES_MAX);
    let (mut fetch, outs) = Fetch::start(Group::of(N), Range::full(), None, 256, *AUTHORITY);
    let Some(Out::List { req, .. }) = outs.first().cloned() else {
        return;
    };
    match msg.answer {
        Answer::Page(page) => {
            for from in 0..N {
                let _ = fetch.on_page(from, &req, page.clone());
            }
            let _ = fetch.on_timer();
        }
        Answer::Object(reply) => {
            let listed = match &reply {
                Reply::Version(Some(v)) => Listed {
                    id: v.id(),
                    held: Held::Keyed(v.key()),
                },
                Reply::Content(Some(c)) => Listed {
                    id: content_id(&c.bytes),
                    held: Held::Content,
                },
                _ => return,
            };
            let page = ListPage {
                entries: vec![listed],
                complete: true,
            };
            for from in 0..N {
                let _ = fetch.on_page(from, &req, page.clone());
            }
            for from in 0..N {
                let _ = fetch.on_reply(from, listed.id, reply.clone());
            }
            let _ = fetch.applied(1);
        }
        Answer::Complete(_) | Answer::Refused(_) => {}
    }
});
