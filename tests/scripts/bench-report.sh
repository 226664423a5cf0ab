#!/usr/bin/env bash
# Regenerates docs/BENCHMARKS.md and its plots docs/bench/*.png: builds the binaries, then runs
# every benchmark (PBFT ordering, dBQS put/get against clients and cluster size, state
# transfer, epoch change, the MS at 100,000 members), each with its bound measured in the same
# run. Arguments go to `bench_report`:
#   bash tests/scripts/bench-report.sh                               # the real one, into docs/
#   bash tests/scripts/bench-report.sh --quick --out target/bench-quick   # a few minutes' trial
# (--only epoch,transfer reruns some benches; --render-only rewrites from the last JSON.)
# The binaries are built with the bench profile (full optimisation, binaries in target/release/);
# RAMPART_BENCH_PROFILE=dev uses the tests' dev build instead, for a quick trial of the harness.
# The etcd beside it comes from ../shared/peers/etcd/run.sh, which installs it when missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bash "$root/tests/scripts/deps.sh"
# DejaVu Sans for the plots' text (without a font they are drawn without any).
bash "$root/tests/scripts/deps.sh" fonts-dejavu-core || echo "no DejaVu font installed: the plots will have no text" >&2
cd "$root"
profile="${RAMPART_BENCH_PROFILE:-bench}"
case "$profile" in
  bench) dir=release ;;
  dev) dir=debug ;;
  *) echo "RAMPART_BENCH_PROFILE must be bench or dev, not $profile" >&2; exit 2 ;;
esac
cargo build --locked --profile "$profile" -p rampart --bin rampart
cargo build --locked --profile "$profile" -p rampart-tests --bin bench_report --bin bench_pbft \
  --bin bench_dbqs --bin bench_transfer --bin bench_ms_scale --bin bench_epoch --bin bench_etcd \
  --bin bench_flood
exec "./target/$dir/bench_report" "$@"
