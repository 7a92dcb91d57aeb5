#!/usr/bin/env bash
# Where a relay round's time goes at a fixed rate, hop by hop, for iogate, the Node reference server, the minimal
# relay server or the relay floor.
#
# Usage: bench/trace/relay_hops.sh iogate|node|minimal|floor polling|websocket RATE [SECONDS_TRACED]
#
# iogate, node, minimal: starts a webhook backend (bench-backend) and the server on free loopback ports and drives
# the relay scenario at RATE emits per second with 100 clients for 8 s (bench-loadgen scenario relay-TRANSPORT
# --rate RATE). minimal is `bench-loadgen minimal-server`: just enough of the protocol for those clients, with the
# same backend and as many worker threads as iogate (MINIMAL_THREADS=N to change it).
# floor: runs the relay floor at RATE (bench-loadgen floor --rate RATE, with --polling for polling), whose client,
# middle (floor-middle) and backend (floor-backend) are threads of one process; its polling round answers the POST
# and the poll on the POST's connection, after the reply.
# From the 3rd second the processes' socket system calls are recorded for SECONDS_TRACED (default 2; 0: no trace,
# only the load generator's line) with
# `perf record` (syscall tracepoints: entry with the fd, exit with the byte count). Then relay_hops.py follows every
# round through the trace and prints its table. Needs perf (Debian's linux-perf), the release build (cargo build
# --release --workspace) and, for Node, bench/node's dependencies (npm ci --prefix bench/node). Run it as root or
# with kernel.perf_event_paranoid low enough to trace syscalls. The load generator's own line (its p50 and p99, over
# its whole run, the traced seconds included) is printed first.
set -euo pipefail
cd "$(dirname "$0")/../.."
kind=${1:?usage: relay_hops.sh iogate|node|minimal|floor polling|websocket RATE [SECONDS_TRACED]}
transport=${2:?usage: relay_hops.sh iogate|node|minimal|floor polling|websocket RATE [SECONDS_TRACED]}
rate=${3:?usage: relay_hops.sh iogate|node|minimal|floor polling|websocket RATE [SECONDS_TRACED]}
traced=${4:-2}
release=target/release
for tool in iogate bench-backend bench-loadgen; do
  [ -x "$release/$tool" ] || { echo "relay_hops: $release/$tool is missing: cargo build --release --workspace" >&2; exit 2; }
done
command -v perf >/dev/null || { echo "relay_hops: perf is missing (Debian: apt-get install linux-perf)" >&2; exit 2; }

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "relay_hops: nothing listens on 127.0.0.1:$1" >&2
  exit 1
}

case "$transport" in
  polling) floor_shape=(--polling); ack=elsewhere ;;
  websocket) floor_shape=(); ack=same ;;
  *) echo "relay_hops: the transport is polling or websocket, not $transport" >&2; exit 2 ;;
esac
ulimit -n "$(ulimit -Hn)"

# Starts the relay floor at $rate; sets loadgen, traced_pids and roles.
start_floor() {
  "$release/bench-loadgen" floor --rate "$rate" "${floor_shape[@]}" >"$work/loadgen.out" 2>&1 &
  loadgen=$!
  pids+=("$loadgen")
  traced_pids=$loadgen
  roles="server=$loadgen/floor-middle backend=$loadgen/floor-backend loadgen=$loadgen/-"
  # The floor answers a POST and its poll together, on the POST's connection.
  ack=same
}

# Starts the backend, the server ($kind) and the relay scenario at $rate; sets loadgen, traced_pids and roles.
start_server_and_clients() {
  "$release/bench-backend" --listen 127.0.0.1:0 >"$work/backend.out" 2>&1 &
  local backend=$! server port control backend_addr
  pids+=("$backend")
  for _ in $(seq 100); do grep -q '^listening ' "$work/backend.out" && break; sleep 0.05; done
  backend_addr=$(sed -n 's/^listening //p' "$work/backend.out" | head -1)
  [ -n "$backend_addr" ] || { echo "relay_hops: the backend did not start" >&2; exit 1; }
  port=$(free_port)
  control=$(free_port)
  if [ "$kind" = minimal ]; then
    "$release/bench-loadgen" minimal-server --listen "127.0.0.1:$port" --backend "$backend_addr" \
      ${MINIMAL_THREADS:+--threads "$MINIMAL_THREADS"} >"$work/server.err" 2>&1 &
    control=$port
  elif [ "$kind" = iogate ]; then
    "$release/bench-loadgen" iogate-config --port "$port" --api-port "$control" \
      --webhook "http://$backend_addr/hook" >"$work/iogate.toml"
    "$release/iogate" --config "$work/iogate.toml" 2>"$work/server.err" &
  else
    [ -d bench/node/node_modules ] || { echo "relay_hops: npm ci --prefix bench/node first" >&2; exit 2; }
    PORT=$port CONTROL_PORT=$control WEBHOOK="http://$backend_addr/hook" PATH_PREFIX=/socket.io \
      PING_INTERVAL_MS=25000 PING_TIMEOUT_MS=20000 NODE_ENV=production \
      node --expose-gc bench/node/server.js >"$work/server.err" 2>&1 &
  fi
  server=$!
  pids+=("$server")
  wait_for_port "$port"
  wait_for_port "$control"
  # The minimal server takes the paths iogate's clients use.
  "$release/bench-loadgen" scenario "relay-$transport" --kind "${kind/minimal/iogate}" --pid "$server" \
    --addr "127.0.0.1:$port" \
    --control "127.0.0.1:$control" --backend "$backend_addr" --clients 100 --seconds 8 --rate "$rate" \
    >"$work/loadgen.out" 2>&1 &
  loadgen=$!
  pids+=("$loadgen")
  traced_pids="$server,$backend,$loadgen"
  roles="server=$server backend=$backend loadgen=$loadgen"
}

case "$kind" in
  floor) start_floor ;;
  iogate | node | minimal) start_server_and_clients ;;
  *) echo "relay_hops: the server is iogate, node, minimal or floor, not $kind" >&2; exit 2 ;;
esac
if [ "$traced" = 0 ]; then
  wait "$loadgen" || true
  grep -E 'acks/s|rounds|error' "$work/loadgen.out" || cat "$work/loadgen.out"
  exit 0
fi
sleep 3
events=""
for call in sendto recvfrom sendmsg recvmsg write writev read readv; do
  events+="syscalls:sys_enter_$call,syscalls:sys_exit_$call,"
done
perf record -q -p "$traced_pids" -e "${events%,}" -o "$work/perf.data" -- sleep "$traced" 2>/dev/null
for pid in ${traced_pids//,/ }; do
  for fd in /proc/"$pid"/fd/*; do
    target=$(readlink "$fd" 2>/dev/null) || continue
    case "$target" in socket:*) echo "$pid ${fd##*/} $target" ;; esac
  done
done >"$work/fds"
cat /proc/net/tcp >"$work/tcp"
echo "$roles transport=$transport kind=$kind ack=$ack" >"$work/roles"
wait "$loadgen" || true
grep -E 'acks/s|rounds|error' "$work/loadgen.out" || cat "$work/loadgen.out"
perf script -i "$work/perf.data" -F comm,pid,tid,cpu,time,event,trace >"$work/trace.txt" 2>/dev/null
python3 bench/trace/relay_hops.py "$work"
