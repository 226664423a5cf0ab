#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time each, starting from the corpus kept
# in fuzz/corpus/<target>/, and fails if any target crashes, runs out of memory or hangs.
#
#   bash tests/scripts/fuzz.sh                      # 10 s a target (CI)
#   FUZZ_SECONDS=600 bash tests/scripts/fuzz.sh     # a long run
#   FUZZ_TARGETS="certificate ms_op" bash tests/scripts/fuzz.sh
#
# The committed corpus is never written to: each target runs on a copy under
# fuzz/target/fuzz-run/<target>/corpus (what it found stays there, for `cargo fuzz cmin`
# or for copying into fuzz/corpus by hand), and a crashing input is saved as
# fuzz/target/fuzz-run/<target>/artifacts/crash-* (or oom-*, timeout-*).
#
# Toolchain: cargo-fuzz passes nightly-only flags (-Zsanitizer=address, -Cpasses=sancov-module
# and friends) to rustc. Only the stable toolchain is installed here, so the script sets
# RUSTC_BOOTSTRAP=1, which makes stable rustc and cargo accept them; AddressSanitizer works
# that way (FUZZ_SANITIZER=none turns it off, e.g. where its runtime is missing).
#
# Knobs (environment): FUZZ_SECONDS (10), FUZZ_RSS_MB (2048), FUZZ_TIMEOUT (10, seconds for
# one input), FUZZ_SANITIZER (address), FUZZ_TARGETS (all), FUZZ_WORK (fuzz/target/fuzz-run).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
fuzz="$root/fuzz"
seconds="${FUZZ_SECONDS:-10}"
rss_mb="${FUZZ_RSS_MB:-2048}"
timeout="${FUZZ_TIMEOUT:-10}"
sanitizer="${FUZZ_SANITIZER:-address}"
work="${FUZZ_WORK:-$fuzz/target/fuzz-run}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    t0=$SECONDS
    cargo install cargo-fuzz --locked
    echo "fuzz: installed cargo-fuzz in $((SECONDS - t0)) s"
fi

cd "$fuzz"
if [[ -n "${FUZZ_TARGETS:-}" ]]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    mapfile -t targets < <(cargo fuzz list)
fi
if [[ ${#targets[@]} -eq 0 ]]; then
    echo "fuzz: no targets" >&2
    exit 1
fi

start=$SECONDS
# All targets in one cargo invocation: the dependencies are built once.
cargo fuzz build --sanitizer "$sanitizer"
echo "fuzz: built ${#targets[@]} targets in $((SECONDS - start)) s"

triple="$(rustc -vV | sed -n 's/^host: //p')"
bin_dir="$fuzz/target/$triple/release"
failed=()
for t in "${targets[@]}"; do
    dir="$work/$t"
    rm -rf "$dir"
    mkdir -p "$dir/corpus" "$dir/artifacts"
    if [[ -d "$fuzz/corpus/$t" ]]; then
        cp -R "$fuzz/corpus/$t/." "$dir/corpus/"
    fi
    t0=$SECONDS
    set +e
    "$bin_dir/$t" "$dir/corpus" \
        -max_total_time="$seconds" \
        -rss_limit_mb="$rss_mb" \
        -timeout="$timeout" \
        -artifact_prefix="$dir/artifacts/" \
        -print_final_stats=1 >"$dir/log" 2>&1
    rc=$?
    set -e
    runs="$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$dir/log" | tail -n 1)"
    if [[ $rc -eq 0 ]]; then
        printf 'fuzz: %-20s ok     %10s runs in %3d s\n' "$t" "${runs:-?}" $((SECONDS - t0))
    else
        printf 'fuzz: %-20s FAILED (exit %d) after %d s; log %s\n' "$t" "$rc" $((SECONDS - t0)) "$dir/log"
        grep -E '^(==[0-9]+==|thread .* panicked|SUMMARY|.*deadly signal)' "$dir/log" | head -n 20 || true
        ls -1 "$dir/artifacts" 2>/dev/null | sed 's/^/fuzz:   artifact /' || true
        failed+=("$t")
    fi
done

echo "fuzz: ${#targets[@]} targets, $((SECONDS - start)) s in all"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz: FAILED: ${failed[*]}" >&2
    echo "fuzz: reproduce with: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run <target> <artifact>" >&2
    exit 1
fi
echo "fuzz: all targets ran without a crash"
