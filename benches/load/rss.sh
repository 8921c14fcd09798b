#!/usr/bin/env bash
# Memory under millions of distinct tokens: the load_server (defaults: verified-token cache of
# 4096 entries, memory revocation store) pinned to core 0, the rss_client on core 1 sending a
# never-seen token on every request (each expiring EXP_SECS after it was minted) and sampling the
# server's RSS. Bounded caches show as an RSS that stops growing once they are full.
#
#   benches/load/rss.sh            # 60 s
#   benches/load/rss.sh --ten-minutes
#   benches/load/rss.sh SECONDS
set -euo pipefail
cd "$(dirname "$0")/../.."
case "${1:-60}" in
  --ten-minutes) SECS=600 ;;
  *) SECS=${1:-60} ;;
esac
PORT=${PORT:-8088}
cargo build --release -q -p jwt-benches --example load_server --example rss_client
export JWT_SECRET_KEY=0123456789abcdef0123456789abcdef
export RUST_LOG=off
env PORT=$PORT taskset -c 0 target/release/examples/load_server >/dev/null 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -s -o /dev/null "localhost:$PORT/unprotected" && break; sleep 0.1; done
echo "== memory: ${SECS}s of first-seen tokens, server pid $PID on core 0, client on core 1"
env TARGET=127.0.0.1:$PORT SERVER_PID=$PID SECS=$SECS EXP_SECS=${EXP_SECS:-60} \
  CONNS=${CONNS:-16} EVERY_SECS=${EVERY_SECS:-10} taskset -c 1 target/release/examples/rss_client
