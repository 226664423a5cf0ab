#!/usr/bin/env bash
# Runs the whole test suite, as CI does: installs missing system packages, checks formatting,
# builds the rampart binary (the multi-process tests run it) and runs every test.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bash "$root/tests/scripts/deps.sh"
cd "$root"
if cargo fmt --version >/dev/null 2>&1; then
  cargo fmt --all -- --check
fi
cargo build --locked -p rampart --bins
cargo test --locked --workspace
