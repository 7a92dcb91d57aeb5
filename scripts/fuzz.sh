#!/usr/bin/env bash
# Coverage-guided fuzzing (fuzz/, cargo-fuzz): builds every target, runs each for SECONDS_PER_TARGET seconds
# (default 10) over the committed corpus (fuzz/corpus/<target>/, read only: new inputs go to a temporary folder),
# prints the executions each did, and fails when any target crashes (the input is left in fuzz/artifacts/<target>/).
#
# The targets build on stable Rust (no sanitizer: `-Cpasses=sancov-module` and `-Cllvm-args` are stable flags), and
# on nightly when stable cannot. When neither can, or cargo-fuzz is missing and cannot be installed, this says so,
# replays the corpus through the same checks on stable (tests/fuzz_corpus.rs) and exits with that test's status.
#
# Usage: [FUZZ_PROFILE=dev] scripts/fuzz.sh [SECONDS_PER_TARGET]
# The targets are built optimized, with debug assertions and overflow checks; FUZZ_PROFILE=dev builds them without
# optimizations: the build takes about half as long, a run does about ten times fewer executions (what CI uses).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
profile=${FUZZ_PROFILE:-release}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ] || ! [[ "$profile" =~ ^(release|dev)$ ]]; then
  echo "usage: [FUZZ_PROFILE=dev] scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2
  exit 2
fi
options=(--sanitizer none)
[ "$profile" = release ] || options+=(--dev)

replay() {
  echo "fuzz: SKIPPED: $1"
  echo "fuzz: replaying the committed corpus through the same checks instead (cargo test --test integration fuzz_corpus::)"
  cargo test -q --test integration fuzz_corpus::
  exit 0
}

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: cargo-fuzz is missing: cargo install cargo-fuzz --locked"
  if ! timeout 1200 cargo install cargo-fuzz --locked; then
    replay "cargo-fuzz is not installed and cannot be installed on this machine"
  fi
fi

log=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$log" "$work"' EXIT

# The default toolchain first (stable here), then nightly.
toolchain=""
for candidate in "" "+nightly"; do
  if [ -n "$candidate" ] && ! rustup run nightly rustc --version >/dev/null 2>&1; then
    continue
  fi
  echo "fuzz: building the targets ($profile) with $(rustc $candidate --version 2>/dev/null || echo "${candidate#+}")"
  start=$(date +%s)
  if timeout 1200 cargo $candidate fuzz build "${options[@]}" >"$log" 2>&1; then
    echo "fuzz: built in $(($(date +%s) - start)) s"
    toolchain=${candidate:-default}
    break
  fi
  echo "fuzz: the build failed with ${candidate:-the default toolchain}:"
  tail -n 15 "$log"
done
if [ -z "$toolchain" ]; then
  replay "no installed toolchain builds the fuzz targets"
fi
flag=""
[ "$toolchain" = default ] || flag=$toolchain

failed=()
total=0
for target in $(cargo $flag fuzz list); do
  mkdir -p "$work/$target"
  status=0
  # The bound on the whole run keeps a stuck target from hanging CI; libFuzzer's own -timeout catches slow inputs.
  timeout -k 10 $((seconds + 300)) cargo $flag fuzz run "${options[@]}" "$target" "$work/$target" \
    "fuzz/corpus/$target" -- -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$log" 2>&1 ||
    status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  new=$(find "$work/$target" -type f | wc -l)
  if [ "$status" -eq 0 ]; then
    echo "fuzz: $target: ${runs:-?} executions in ${seconds} s, ${new} new inputs, no crash"
    total=$((total + ${runs:-0}))
  else
    echo "fuzz: $target: FAILED (exit $status) after ${runs:-?} executions:"
    grep -E -A 12 "panicked|ERROR: libFuzzer|SUMMARY" "$log" | head -n 40 || tail -n 40 "$log"
    failed+=("$target")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in fuzz/artifacts/<target>/)"
  exit 1
fi
echo "fuzz: ok: every target ran ${seconds} s without a crash, ${total} executions in all"
