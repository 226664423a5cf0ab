//! `bench_ms_scale`: the membership service at 100,000 members with 1% churn per epoch:
//! the size of each delta, the time to make the next configuration, to apply a delta and to
//! recompute the ring, the memory a member costs, and the MS handover (resharing the MS key
//! to the next group and certifying the epoch). Pure computation (no network), beside this
//! machine's SHA-256 rate measured in the same run (the ring is mostly hashing).
//!
//! `cargo run -p rampart-tests --bin bench_ms_scale -- [--members 100000] [--epochs 3]`
//! (`--quick`: 10,000 members, one epoch; `--json <file>` also writes the figures as JSON).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;

use overlay::cert::{CertBody, CertContent, Certificate};
use overlay::config::{Configuration, Delta, Member, choose_ms_group};
use overlay::constants::VNODES_DEFAULT;
use overlay::crypto::SecretKey;
use overlay::encoding::{domain_bytes, encode};
use overlay::epoch::EpochCert;
use overlay::id::{Epoch, Hash, NodeId};
use overlay::ms::{Op, Outcome, State, roles};
use overlay::ring::Ring;
use overlay::threshold::{self, KeyPackage, PublicKeyPackage};
use overlay::time::Timestamp;
use rampart_tests::benchutil::{json_header, write_json};
use rand::SeedableRng;
use serde_json::json;

/// The membership service at scale: pure computation, no network, no disk.
#[derive(Parser)]
struct Args {
    /// Members at genesis (default 100,000; 10,000 with --quick).
    #[arg(long)]
    members: Option<u64>,
    /// Epochs of 1% churn (default 3; 1 with --quick).
    #[arg(long)]
    epochs: Option<u64>,
    /// 10,000 members and one epoch unless --members and --epochs say otherwise.
    #[arg(long)]
    quick: bool,
    /// Also write the figures, the bound and the command line to this file as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(|l| l.to_string())
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// Member `i`'s key, recomputable so that the benchmark keeps no secret per member.
fn secret(i: u64) -> SecretKey {
    SecretKey::from_seed(&Hash::of(&[b"bench-member", &i.to_be_bytes()]).0)
}

fn member(i: u64) -> Member {
    let key = secret(i).public();
    Member {
        key,
        addrs: vec![format!(
            "/ip4/10.{}.{}.{}/tcp/7700",
            (i >> 16) & 255,
            (i >> 8) & 255,
            i & 255
        )],
    }
}

fn ms(t0: Instant) -> f64 {
    t0.elapsed().as_secs_f64() * 1000.0
}

fn main() {
    let args = Args::parse();
    let t_start = Instant::now();
    let n = args
        .members
        .unwrap_or(if args.quick { 10_000 } else { 100_000 });
    let epochs = args.epochs.unwrap_or(if args.quick { 1 } else { 3 });
    let churn = (n / 100).max(2);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let authority = SecretKey::generate(&mut rng);

    let t0 = Instant::now();
    let mut sha = 0u64;
    let mut h = Hash::default();
    while t0.elapsed().as_millis() < 500 {
        h = Hash::of(&[&h.0, b"bench"]);
        sha += 1;
    }
    let sha_rate = sha as f64 / t0.elapsed().as_secs_f64();

    let rss0 = rss_kib();
    let mut members: Vec<Member> = (0..n).map(member).collect();
    members.sort_by_key(Member::id);
    let ids: Vec<NodeId> = members.iter().map(Member::id).collect();
    let config = Configuration {
        epoch: Epoch(0),
        ms_group: choose_ms_group(&ids, 1, &Hash::default()),
        members,
        f: 1,
        f_ms: 1,
        vnodes: VNODES_DEFAULT,
        revoked: BTreeMap::new(),
    };
    let rss_config = rss_kib();
    let t = Instant::now();
    let ring = Ring::of(&config);
    let ring_ms = ms(t);
    let rss_ring = rss_kib();
    let config_bytes = encode(&config).len();
    let config_per_member = config_bytes as f64 / n as f64;
    let memory_per_member = (rss_config.saturating_sub(rss0) * 1024) as f64 / n as f64;
    let ring_per_member = (rss_ring.saturating_sub(rss_config) * 1024) as f64 / n as f64;
    let positions_per_s = (n * u64::from(VNODES_DEFAULT)) as f64 / (ring_ms / 1000.0);
    println!("machine: {sha_rate:.0} SHA-256/s (64-byte inputs, one core)");
    println!(
        "{n} members, vnodes {VNODES_DEFAULT}: configuration {config_bytes} bytes encoded ({config_per_member:.0} B/member), {memory_per_member:.0} B/member in memory; ring {ring_per_member:.0} B/member, built in {ring_ms:.0} ms ({positions_per_s:.0} positions/s, {:.2} of the SHA-256 rate)",
        positions_per_s / sha_rate
    );
    let mut rows = Vec::new();
    drop(ring);

    let now = Timestamp(1_700_000_000);
    let mut index: HashMap<NodeId, u64> = (0..n).map(|i| (member(i).id(), i)).collect();
    let dealt = threshold::deal(&config.ms_group, config.f_ms, &mut rng).expect("deal");
    let ms_key = threshold::group_key(&dealt.public).expect("key");
    let mut shares = dealt.shares;
    let public = dealt.public.serialize().expect("public package");
    let mut state = State::new(authority.public(), config, Hash::default(), now, public);
    println!();
    println!(
        "| epoch | joins | leaves | delta bytes | next config ms | delta apply ms | ring rebuild ms | ring diff ms | arcs moved | handover ms |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for e in 1..=epochs {
        let before = state.config().clone();
        let content = |body| CertContent {
            body,
            issued_at: now,
            not_before: now,
            not_after: now.plus_secs(86_400 * 30),
        };
        for i in 0..churn / 2 {
            let idx = n + e * churn + i;
            let m = member(idx);
            index.insert(m.id(), idx);
            let cert = Certificate::issue(
                &authority,
                content(CertBody::Add {
                    node: m.key,
                    addrs: m.addrs,
                }),
            );
            state.apply(&m.key, Op::Add(cert)).expect("add");
        }
        for i in 0..churn / 2 {
            let node =
                before.members[(i as usize * 97 + e as usize * 13) % before.members.len()].id();
            let cert = Certificate::issue(&authority, content(CertBody::Remove { node }));
            let _ = state.apply(&authority.public(), Op::Remove(cert));
        }
        let key_of = |id: &NodeId| secret(index[id]);
        let proposer = key_of(&before.ms_group[0]).public();
        let t = Instant::now();
        let Ok(Outcome::Epoch { config, delta, .. }) = state.apply(
            &proposer,
            Op::NewEpoch {
                closing: before.epoch,
                now: now.plus_secs(e * 60),
            },
        ) else {
            panic!("new epoch failed")
        };
        let next_ms = ms(t);
        let t = Instant::now();
        shares = handover(&mut state, &shares, &key_of, &mut rng);
        let handover_ms = ms(t);
        assert_eq!(
            state.ms_key().expect("ms key"),
            ms_key,
            "the MS key changed"
        );
        let delta_bytes = encode(&*delta).len();
        let t = Instant::now();
        let applied: Configuration = Delta::apply(&delta, &before).expect("delta applies");
        let apply_ms = ms(t);
        assert_eq!(applied, *config);
        let t = Instant::now();
        let old_ring = Ring::of(&before);
        let new_ring = Ring::of(&config);
        let rebuild_ms = ms(t) / 2.0;
        let t = Instant::now();
        let diff = overlay::ring::RingDiff::between(&old_ring, &new_ring);
        let diff_ms = ms(t);
        let moved = diff.moved().count();
        println!(
            "| {} | {} | {} | {delta_bytes} | {next_ms:.0} | {apply_ms:.0} | {rebuild_ms:.0} | {diff_ms:.0} | {moved} | {handover_ms:.0} |",
            config.epoch.0,
            delta.upserted.len(),
            delta.removed.len(),
        );
        rows.push(json!({
            "epoch": config.epoch.0,
            "joins": delta.upserted.len(),
            "leaves": delta.removed.len(),
            "delta_bytes": delta_bytes,
            "next_config_ms": next_ms,
            "delta_apply_ms": apply_ms,
            "ring_rebuild_ms": rebuild_ms,
            "ring_diff_ms": diff_ms,
            "arcs_moved": moved,
            "handover_ms": handover_ms,
        }));
    }
    if let Some(path) = &args.json {
        let mut out = json_header("ms_scale", None);
        out["quick"] = json!(args.quick);
        out["wall_secs"] = json!(t_start.elapsed().as_secs_f64());
        out["machine"] = json!({ "sha256_per_s": sha_rate });
        out["params"] = json!({
            "members": n, "epochs": epochs, "churn_per_epoch": churn, "vnodes": VNODES_DEFAULT,
            "ms_group": 4,
        });
        out["config_bytes"] = json!(config_bytes);
        out["config_bytes_per_member"] = json!(config_per_member);
        out["memory_bytes_per_member"] = json!(memory_per_member);
        out["ring_bytes_per_member"] = json!(ring_per_member);
        out["ring_build_ms"] = json!(ring_ms);
        out["ring_positions_per_s"] = json!(positions_per_s);
        out["ring_sha_ratio"] = json!(positions_per_s / sha_rate);
        out["rows"] = json!(rows);
        write_json(path, &out);
    }
}

/// Runs the open handover with every participant correct: the old holders deal, the new ones
/// check, the old group certifies the epoch, and the new holders build their shares.
fn handover(
    state: &mut State,
    shares: &BTreeMap<NodeId, KeyPackage>,
    key_of: &impl Fn(&NodeId) -> SecretKey,
    rng: &mut rand_chacha::ChaCha8Rng,
) -> BTreeMap<NodeId, KeyPackage> {
    let h = state.handover().expect("a handover is open").clone();
    for (id, k) in shares {
        let (op, _ephemerals) = roles::deal(&h, *id, k, rng).expect("deal");
        state
            .apply(&key_of(id).public(), op)
            .expect("dealing ordered");
    }
    let new_group = state.config().ms_group.clone();
    for j in &new_group {
        let h = state.handover().expect("open").clone();
        for op in roles::check(&h, &key_of(j), 0).expect("check") {
            state.apply(&key_of(j).public(), op).expect("check ordered");
        }
    }
    let h = state.handover().expect("open").clone();
    let old_public = PublicKeyPackage::deserialize(&h.old_public).expect("old public package");
    let signers: Vec<&KeyPackage> = shares.values().take(h.old_threshold as usize).collect();
    let signature =
        threshold::sign_locally(&signers, &old_public, &domain_bytes(&h.statement), rng)
            .expect("sign");
    let cert = EpochCert {
        statement: h.statement,
        signature,
    };
    state
        .apply(&key_of(&new_group[0]).public(), Op::Certified(cert))
        .expect("certified");
    let h = state.handover().expect("complete").clone();
    new_group
        .iter()
        .map(|j| {
            let k = roles::new_share(&h, &key_of(j))
                .expect("share")
                .expect("dealers fixed");
            (*j, k)
        })
        .collect()
}
