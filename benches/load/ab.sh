#!/usr/bin/env bash
# Two builds of the load server side by side (before/after a change), so machine noise falls on
# both alike: each build serves on its own port, both pinned to core 0 (only one is under load at a
# time), `wrk -t1 -c32` on core 1, the routes and builds alternating over the rounds.
#
#   benches/load/ab.sh OLD_BIN NEW_BIN [seconds per run (5)] [rounds (4)] [extra env...]
#
# Build the old one from another checkout, e.g.:
#   git worktree add /tmp/old <rev> && (cd /tmp/old && cargo build --release -p jwt-benches --example load_server)
#   benches/load/ab.sh /tmp/old/target/release/examples/load_server target/release/examples/load_server
# Extra arguments are environment settings for both servers (JWT_VERIFIED_TOKEN_CACHE_SIZE=0 to
# compare first-seen tokens).
set -euo pipefail
OLD=$(realpath "$1")
NEW=$(realpath "$2")
SECS=${3:-5}
ROUNDS=${4:-4}
shift $(( $# < 4 ? $# : 4 ))
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk); skipped"; exit 0; }
export JWT_SECRET_KEY=0123456789abcdef0123456789abcdef
export RUST_LOG=off
cd "$(dirname "$0")/../.."
. benches/load/common.sh

declare -A PORT=([old]=8101 [new]=8102) BIN=([old]=$OLD [new]=$NEW) TOKEN
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
for build in old new; do
  env PORT=${PORT[$build]} "$@" taskset -c 0 "${BIN[$build]}" >/dev/null 2>&1 &
  PIDS+=($!)
  wait_for "${PORT[$build]}" || { echo "the $build build did not start"; exit 1; }
  TOKEN[$build]=$(curl -s -X POST "localhost:${PORT[$build]}/login")
done

echo "== ab: ${SECS}s per run, $ROUNDS rounds, $* (server core 0, wrk -t1 -c32 core 1)"
for round in $(seq "$ROUNDS"); do
  echo "  round $round"
  for route in unprotected protected; do
    for build in old new; do
      measure "$build" "${PORT[$build]}" "$route" "${TOKEN[$build]}"
    done
  done
done
echo
echo "| build | unprotected | #[jwt_required] | vs unprotected |"
echo "|---|---|---|---|"
for build in old new; do
  u=$(avg "$build/unprotected"); p=$(avg "$build/protected")
  echo "| $build | $u | $p | $(ratio "$p" "$u")x |"
done
