//! The seeds do what they are for: each reaches past the checks that follow decoding, so the
//! fuzzer starts from inputs that exercise the whole path. Also checks that the committed
//! corpus holds every seed as generated (run `cargo run --example seeds` after changing them).

use bootstrap::{admission, bundle, certfile, credential, keyfile, registry::Registry};
use overlay::cert::CertBody;
use overlay::dbqs::replica::handle;
use overlay::dbqs::wire::StoreRequest;
use overlay::encoding::decode;
use overlay::epoch::news::{self, NewsOutcome};
use overlay::ms::{MsApp, Receipt};
use overlay::pbft::{Application, ClientAction, Signed, SignedReply, SignedRequest};
use overlay::threshold::session::{CoordAction, SignMsg};
use rampart_fuzz::seeds::{Seed, all};
use rampart_fuzz::*;

fn of(target: &str) -> Vec<Seed> {
    let v: Vec<Seed> = all()
        .into_iter()
        .filter(|s| s.target == target && s.name.starts_with("seed-"))
        .collect();
    assert!(!v.is_empty(), "no seeds for {target}");
    v
}

#[test]
fn the_committed_corpus_holds_every_seed() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for s in all() {
        let path = root.join(s.target).join(&s.name);
        let kept = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            kept == s.bytes,
            "{} differs from the generated seed: run `cargo run --example seeds`",
            path.display()
        );
    }
}

#[test]
fn store_requests_are_admitted_and_served() {
    for s in of("store_request") {
        let m: StoreRequest = decode(&s.bytes, usize::MAX).unwrap();
        let key = client().public();
        gate()
            .admit(&m, Some(&key), &|_| false)
            .unwrap_or_else(|e| panic!("{}: {e}", s.name));
        let _ = handle(&mut overlay::dbqs::mem::MemStore::default(), m.req);
    }
}

#[test]
fn pbft_messages_verify_and_client_replies_complete() {
    for s in of("pbft_message") {
        let m = Signed::from_bytes(&s.bytes).unwrap();
        assert!(m.verify(&pbft_config()).is_ok(), "{}", s.name);
        if s.name == "seed-catchup" {
            let mut r = replica(1);
            let _ = r.on_event(overlay::pbft::Event::Message(m));
            assert_eq!(
                r.stable_seq(),
                overlay::pbft::Seq(16),
                "the catch-up restores"
            );
            assert!(r.app().state == *HANDOVER_STATE);
        }
    }
    let mut c = pbft_client();
    let mut done = false;
    for s in of("pbft_client") {
        if let Ok(r) = decode::<SignedRequest>(&s.bytes, usize::MAX) {
            assert!(r.verify().is_ok(), "{}", s.name);
        } else {
            let r: SignedReply = decode(&s.bytes, usize::MAX).unwrap();
            done |= c
                .on_reply(r)
                .iter()
                .any(|a| matches!(a, ClientAction::Done { .. }));
        }
    }
    assert!(done, "the replies complete the client's request");
}

#[test]
fn ms_ops_are_accepted() {
    for s in of("ms_op") {
        let accepted = [&*STATE, &*HANDOVER_STATE].into_iter().any(|state| {
            SUBMITTERS.iter().any(|who| {
                let mut app = MsApp::new(state.clone());
                app.admits(who)
                    && matches!(
                        MsApp::decode_receipt(&app.execute(who, &s.bytes)),
                        Some(Receipt::Queued | Receipt::Noted | Receipt::Epoch { .. })
                    )
            })
        });
        assert!(accepted, "ms_op seed {} is refused everywhere", s.name);
    }
}

#[test]
fn news_probes_and_shares_pass_their_checks() {
    let next = of("epoch_news")
        .into_iter()
        .find(|s| s.name == "seed-next")
        .unwrap();
    assert!(matches!(
        news::check(&next.bytes, &CONFIG, &MS_KEY),
        Ok((_, NewsOutcome::Next(_)))
    ));
    for s in of("probe") {
        assert!(
            overlay::probe::check(&s.bytes, &CONFIG).is_ok(),
            "{}",
            s.name
        );
    }
    let (mut coord, _, asked) = tsig_signing();
    let tsig = of("tsig");
    let mut signed = false;
    for (h, _) in &asked {
        let name = format!("seed-share-{}", h.0.short());
        let s = tsig
            .iter()
            .find(|s| s.name == name)
            .expect("a share per holder asked");
        let m: SignMsg = decode(&s.bytes, usize::MAX).unwrap();
        signed |= coord
            .on_message(*h, m)
            .iter()
            .any(|a| matches!(a, CoordAction::Done(_)));
    }
    assert!(signed, "the recorded shares make the signature");
}

#[test]
fn files_parse() {
    for s in of("file_certificate") {
        let c = certfile::parse(&s.bytes).unwrap();
        c.verify(&AUTHORITY, NOW).unwrap();
    }
    for s in of("file_credential") {
        let c = credential::parse(&s.bytes).unwrap();
        assert!(matches!(c.cert.content.body, CertBody::Client { .. }));
    }
    let keys = of("file_key");
    assert!(keyfile::parse(&keys.iter().find(|s| s.name == "seed-secret").unwrap().bytes).is_ok());
    assert!(
        keyfile::parse_public(&keys.iter().find(|s| s.name == "seed-public").unwrap().bytes)
            .is_ok()
    );
    for s in of("file_bundle") {
        bundle::parse(&s.bytes).unwrap_or_else(|e| panic!("{}: {e}", s.name));
    }
    for s in of("file_admission") {
        admission::parse(&s.bytes, NOW).unwrap();
    }
    for s in of("file_registry") {
        Registry::parse(&s.bytes).unwrap();
    }
    for s in of("analyst_token") {
        let t = overlay::analyst::AnalystToken::from_hex(std::str::from_utf8(&s.bytes).unwrap())
            .unwrap();
        t.check(&gate()).unwrap();
    }
}

#[test]
fn the_regressions_no_longer_panic() {
    let crash = |target: &str| {
        all()
            .into_iter()
            .find(|s| s.target == target && s.name.starts_with("crash-"))
            .expect("a regression input")
            .bytes
    };
    let Ok(overlay::wire::Response::Status(r)) =
        overlay::wire::Response::from_bytes(&crash("control_response"))
    else {
        panic!("a status response");
    };
    for l in &r.store.as_ref().expect("a store").latency {
        assert_eq!(l.cumulative().last().map(|x| x.1), Some(u64::MAX));
    }
    let mut s: overlay::ms::State =
        decode(&crash("ms_state"), overlay::constants::WIRE_BYTES_MAX).expect("a state");
    let _ = s.apply(&key(1).public(), overlay::ms::Op::Ready { checked: 1 });
}
