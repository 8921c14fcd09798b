#!/usr/bin/env bash
# Load benchmark: the same handler unprotected, checked by hand with jsonwebtoken::decode, and
# under #[jwt_required], compared side by side in one run. The server is pinned to core 0 and wrk
# to core 1 (taskset); rounds alternate the routes so machine noise spreads over all of them.
#
#   benches/load/run.sh [seconds per run (10)] [rounds (3)]
#
# Servers measured (each a separate process, one at a time):
#   cached      the defaults: a repeated token is verified once, then served from the cache
#   first-seen  JWT_VERIFIED_TOKEN_CACHE_SIZE=0: every request verifies the signature and parses
#   logged      the defaults plus a tracing subscriber logging every accepted token at DEBUG
#               (what the examples' default filter does), output to /dev/null
#   redis       the defaults with RedisBlocklist instead of the memory store (when Redis answers
#               on 127.0.0.1:6379): every request is answered from the local mirror
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-10}
ROUNDS=${2:-3}
PORT=${PORT:-8088}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk); skipped"; exit 0; }
cargo build --release -q -p jwt-benches --example load_server
BIN=target/release/examples/load_server
export JWT_SECRET_KEY=0123456789abcdef0123456789abcdef
export RUST_LOG=off
. benches/load/common.sh
run_server() { # name, extra env...
  local name=$1; shift
  env PORT=$PORT "$@" taskset -c 0 "$BIN" >/dev/null 2>&1 &
  local pid=$!
  wait_for "$PORT" || { echo "the $name server did not start"; kill $pid; exit 1; }
  local token
  token=$(curl -s -X POST "localhost:$PORT/login")
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "localhost:$PORT/protected")" = 200 ] \
    || { echo "the protected route refused the token"; kill $pid; exit 1; }
  for round in $(seq "$ROUNDS"); do
    echo "  round $round"
    for route in unprotected hand_written protected; do
      measure "$name" "$PORT" "$route" "$token"
    done
  done
  kill $pid; wait $pid 2>/dev/null || true
}

echo "== load: ${SECS}s per run, $ROUNDS rounds, wrk -t1 -c32 on core 1, server on core 0"
run_server cached
run_server first-seen JWT_VERIFIED_TOKEN_CACHE_SIZE=0
run_server logged LOG=debug
SERVERS="cached first-seen logged"
if (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  run_server redis STORE=redis
  SERVERS="$SERVERS redis"
else
  echo "  (Redis not reachable on 127.0.0.1:6379: the redis server skipped)"
fi

echo
echo "| server | unprotected | hand-written jsonwebtoken | #[jwt_required] | vs unprotected | vs hand-written |"
echo "|---|---|---|---|---|---|"
for name in $SERVERS; do
  u=$(avg "$name/unprotected"); h=$(avg "$name/hand_written"); p=$(avg "$name/protected")
  echo "| $name | $u | $h | $p | $(ratio "$p" "$u")x | $(ratio "$p" "$h")x |"
done
