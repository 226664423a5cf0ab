//! Threshold-signing messages (`overlay::threshold::session::SignMsg` and `HolderReply`,
//! bound `PACKAGE_BYTES_MAX + 1024`): a holder answers `Commit` and `Sign` (deserialising the
//! FROST signing package and approving its message as an MS replica does), and a
//! coordinator takes commitments and signature shares (deserialising and verifying them).
#![no_main]

use libfuzzer_sys::fuzz_target;
use overlay::encoding::decode;
use overlay::threshold::session::{HolderReply, PACKAGE_BYTES_MAX, SignMsg};
use rampart_fuzz::{
    CONFIG, TSIG_SESSION, approve, roundtrip, tsig_rng, tsig_session, tsig_signing,
};

const MAX: usize = PACKAGE_BYTES_MAX + 1024;

fn feed(msg: SignMsg) {
    // A holder.
    let (mut coord, mut signers, holders) = tsig_session();
    match &msg {
        SignMsg::Commit { session, attempt } => {
            let _ = signers[0].commit(*session, *attempt, rampart_fuzz::tsig_asker(), &mut tsig_rng());
        }
        SignMsg::Sign {
            session,
            attempt,
            package,
        } => {
            let _ = signers[0].commit(*session, *attempt, rampart_fuzz::tsig_asker(), &mut tsig_rng());
            let _ = signers[0].sign(*session, *attempt, package, approve);
        }
        _ => {}
    }
    // The coordinator, collecting commitments: the message from each holder in turn.
    for h in &holders {
        let _ = coord.on_message(*h, msg.clone());
    }
    // The coordinator, collecting shares: the message from each holder asked to sign, after
    // the other holders asked sent theirs, so that a good share completes the signature.
    for i in 0..=CONFIG.f_ms as usize {
        let (mut coord, mut signers, sent) = tsig_signing();
        if i >= sent.len() {
            break;
        }
        for (j, (h, m)) in sent.iter().enumerate() {
            if j == i {
                continue;
            }
            if let (Some(k), SignMsg::Sign { package, .. }) =
                (holders.iter().position(|x| x == h), m)
                && let Ok(share) = signers[k].sign(TSIG_SESSION, 1, package, approve)
            {
                let _ = coord.on_message(*h, share);
            }
        }
        let _ = coord.on_message(sent[i].0, msg.clone());
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = decode::<SignMsg>(data, MAX) {
        roundtrip(&msg, data, MAX);
        let _ = msg.session();
        feed(msg);
    }
    if let Ok(HolderReply::Msg(msg)) = decode::<HolderReply>(data, MAX) {
        feed(msg);
    }
});
