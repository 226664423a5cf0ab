#!/usr/bin/env bash
# Runs the whole test suite, as CI does: installs missing system packages, checks formatting,
# builds every target (the multi-process tests run the rampart binary) and runs every test.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bash "$root/tests/scripts/deps.sh"
bash "$root/tests/scripts/browser-deps.sh"
# The fault campaign needs root for its namespaces; without root it says so and skips.
if [ "$(id -u)" -eq 0 ]; then
  bash "$root/tests/scripts/campaign-deps.sh"
fi
cd "$root"
if cargo fmt --version >/dev/null 2>&1; then
  cargo fmt --all -- --check
fi
cargo build --locked --workspace --all-targets
cargo test --locked --workspace
# Every decoder of network and file input under libFuzzer, a few seconds each (cargo-fuzz on
# the stable toolchain; see fuzz/README.md). FUZZ_SECONDS=600 for a long run.
FUZZ_SECONDS="${FUZZ_SECONDS:-3}" bash "$root/tests/scripts/fuzz.sh"
