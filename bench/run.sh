#!/usr/bin/env bash
# Benchmarks iogate side by side with the Node socket.io reference (bench/node) on this machine, in one run, and
# prints one markdown table: scenario | iogate | Node | ratio. See docs/benchmarks.md.
#
#   bench/run.sh            the full run, three times (about 40 minutes): 10k idle sessions per transport, 10k
#                           parked (recoverable) sessions per transport, 10k-client fan-out; every figure in the
#                           table is the median of the three runs, each run's value beside it
#   bench/run.sh --quick    the same scenarios, smaller and shorter, once (about four minutes once built)
#   bench/run.sh --smoke    seconds, tiny counts, debug build, once: keeps the tooling working (CI); numbers mean
#                           nothing
#   --runs N                how many times to run the suite (full: 3, --quick and --smoke: 1)
#
# Other arguments go to bench-loadgen (e.g. --only iogate, --json results.json, --sources 8, --parked-only).
# Everything runs on loopback (127.0.0.0/8); every scenario is bounded in clients and time and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
runs=3
runs_given=no
args=()
for arg in "$@"; do
  case "$arg" in
    --smoke) profile=debug; runs=1; args+=("$arg") ;;
    --quick) runs=1; args+=("$arg") ;;
    --runs) runs_given=yes; args+=("$arg") ;;
    *) args+=("$arg") ;;
  esac
done
if [ "$runs_given" = no ]; then args+=(--runs "$runs"); fi

command -v node >/dev/null || { echo "bench/run.sh: node is required (Node.js 18+)" >&2; exit 2; }

# Thousands of sockets per process: raise the soft open-files limit to the hard limit.
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ]; then hard=1048576; fi
ulimit -n "$hard"

if [ "$profile" = release ]; then
  cargo build --release --quiet --bins -p iogate -p iogate-bench >&2
else
  cargo build --quiet --bins -p iogate -p iogate-bench >&2
fi

if [ ! -d bench/node/node_modules/socket.io ] || [ ! -d bench/node/node_modules/@socket.io/redis-adapter ]; then
  echo "installing the Node reference app's dependencies (bench/node)" >&2
  npm ci --prefix bench/node --no-audit --no-fund >&2
fi

bin="${CARGO_TARGET_DIR:-target}/$profile"
exec "$bin/bench-loadgen" run \
  --iogate "$bin/iogate" --backend "$bin/bench-backend" --node-app bench/node \
  ${args[@]+"${args[@]}"}
