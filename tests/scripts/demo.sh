#!/usr/bin/env bash
# Starts the demo cluster on the embedded default config (4 nodes on 127.0.0.1:17700-17703,
# files in ./demo-cluster) and shows its status; Ctrl-C stops it.
# Extra arguments go to `rampart demo` (see `rampart demo --help`), e.g. --once.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bash "$root/tests/scripts/deps.sh"
cd "$root"
cargo build --locked --workspace --all-targets
exec "$root/target/debug/rampart" demo "$@"
