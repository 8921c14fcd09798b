#!/usr/bin/env bash
# Load benchmark for an identity provider's tokens: the load server with REMOTE=1 trusts a JWK set
# it serves itself on loopback (an RSA and a P-256 key, fetched once at startup). Routes measured
# side by side in one run: the handler unprotected, under #[jwt_required] with this app's own HS256
# token, and with the provider's RS256 and ES256 tokens (each route sends one token, repeated).
# The server is pinned to core 0 and wrk to core 1.
#
#   benches/load/remote.sh [seconds per run (8)] [rounds (3)]
#
# Servers measured: `cached` (the defaults: a repeated token is verified once, then served from the
# verified-token cache while its key is in the provider's set) and `first-seen`
# (JWT_VERIFIED_TOKEN_CACHE_SIZE=0: every request verifies the signature), which gives what a token
# costs the first time it is seen, per algorithm.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-8}
ROUNDS=${2:-3}
PORT=${PORT:-8088}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk); skipped"; exit 0; }
# BIN=path measures another build of the load server (one made from an older checkout).
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p jwt-benches --example load_server
  BIN=${CARGO_TARGET_DIR:-target}/release/examples/load_server
fi
export JWT_SECRET_KEY=0123456789abcdef0123456789abcdef
export RUST_LOG=off
. benches/load/common.sh
ROUTES="unprotected protected remote_rs256 remote_es256"
run_server() { # name, extra env...
  local name=$1; shift
  env PORT=$PORT REMOTE=1 "$@" taskset -c 0 "$BIN" >/dev/null 2>&1 &
  local pid=$!
  wait_for "$PORT" || { echo "the $name server did not start"; kill $pid; exit 1; }
  declare -A token
  token[unprotected]=$(curl -s -X POST "localhost:$PORT/login")
  token[protected]=${token[unprotected]}
  token[remote_rs256]=$(curl -s -X POST "localhost:$PORT/login_rs256")
  token[remote_es256]=$(curl -s -X POST "localhost:$PORT/login_es256")
  for route in protected remote_rs256 remote_es256; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${token[$route]}" "localhost:$PORT/$route")" = 200 ] \
      || { echo "/$route refused its token"; kill $pid; exit 1; }
  done
  for round in $(seq "$ROUNDS"); do
    echo "  round $round"
    for route in $ROUTES; do
      measure "$name" "$PORT" "$route" "${token[$route]}"
    done
  done
  kill $pid; wait $pid 2>/dev/null || true
}

echo "== remote keys: ${SECS}s per run, $ROUNDS rounds, wrk -t1 -c32 on core 1, server on core 0"
run_server cached
run_server first-seen JWT_VERIFIED_TOKEN_CACHE_SIZE=0

echo
echo "| server | unprotected | own HS256 | provider RS256 | provider ES256 |"
echo "|---|---|---|---|---|"
for name in cached first-seen; do
  u=$(avg "$name/unprotected")
  row="| $name | $u"
  for route in protected remote_rs256 remote_es256; do
    p=$(avg "$name/$route")
    row="$row | $p ($(ratio "$p" "$u")x)"
  done
  echo "$row |"
done
echo
echo "What a first-seen token adds per request, in microseconds (1/protected - 1/unprotected):"
u=$(avg "first-seen/unprotected")
for route in protected remote_rs256 remote_es256; do
  p=$(avg "first-seen/$route")
  echo "  $route: $(echo "scale=2; 1000000 / $p - 1000000 / $u" | bc) us"
done
