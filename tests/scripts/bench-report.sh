#!/usr/bin/env bash
# Regenerates docs/BENCHMARKS.md and its plots docs/bench/*.png: builds the binaries, then runs
# every benchmark (PBFT ordering, dBQS put/get against clients and cluster size, state
# transfer, epoch change, the MS at 100,000 members), each with its bound measured in the same
# run. Arguments go to `bench_report`:
#   bash tests/scripts/bench-report.sh                               # the real one, into docs/
#   bash tests/scripts/bench-report.sh --quick --out target/bench-quick   # a few minutes' trial
# (--only epoch,transfer reruns some benches; --render-only rewrites from the last JSON.)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bash "$root/tests/scripts/deps.sh"
# DejaVu Sans for the plots' text (without a font they are drawn without any).
bash "$root/tests/scripts/deps.sh" fonts-dejavu-core || echo "no DejaVu font installed: the plots will have no text" >&2
cd "$root"
cargo build --locked -p rampart --bin rampart
cargo build --locked -p rampart-tests --bin bench_report --bin bench_pbft --bin bench_dbqs \
  --bin bench_transfer --bin bench_ms_scale --bin bench_epoch
exec ./target/debug/bench_report "$@"
