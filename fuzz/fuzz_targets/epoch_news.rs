//! Epoch news from gossip (`overlay::epoch::news::check` against the fixture configuration
//! and MS key): the certificate and the delta, which a node one epoch behind applies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overlay::config::Configuration;
use overlay::constants::CONFIG_BYTES_MAX;
use overlay::encoding::decode;
use overlay::epoch::news::{EpochNews, NEWS_BYTES_MAX, NewsOutcome, check};
use rampart_fuzz::{CONFIG, MS_KEY, roundtrip};

fuzz_target!(|data: &[u8]| {
    let max = NEWS_BYTES_MAX.min(CONFIG_BYTES_MAX);
    let Ok(news) = decode::<EpochNews>(data, max) else {
        assert!(check(data, &CONFIG, &MS_KEY).is_err());
        return;
    };
    roundtrip(&news, data, max);
    if let Ok((_, NewsOutcome::Next(next))) = check(data, &CONFIG, &MS_KEY) {
        assert!(next.hash() == news.cert.statement.config_hash);
    }
    // What the delta does to the configuration held, signature or not.
    if let Ok(next) = news.delta.apply(&CONFIG) {
        let _: Configuration = next;
    }
});
