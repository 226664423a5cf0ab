#!/usr/bin/env bash
# The long fault campaign on real processes in network namespaces (needs root):
#   bash tests/scripts/campaign.sh --minutes 120 --seed 7
# Arguments go to the `campaign` binary (--minutes, --seed, --nodes); it stops by itself.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bash "$root/tests/scripts/deps.sh"
bash "$root/tests/scripts/campaign-deps.sh"
cd "$root"
cargo build --locked -p rampart --bin rampart
exec cargo run --locked -p rampart-tests --bin campaign -- "$@"
