#!/usr/bin/env bash
# Instructions per request (callgrind) on the load server with REMOTE=1: the handler unprotected,
# with this app's own HS256 token and with an identity provider's RS256 and ES256 tokens, each
# repeated (the verified-token cache) and, with JWT_VERIFIED_TOKEN_CACHE_SIZE=0, first seen.
# Instruction counts do not depend on what else the machine runs, unlike the load runs.
#
#   benches/load/remote_instructions.sh [requests per route (2000)]
#
# Per route: N requests of warm-up on one keep-alive connection (curl with the URL N times), the
# counters zeroed (callgrind_control -z), N requests, a dump (callgrind_control -d); the dump's
# total divided by N. Server-side instructions only (the kernel's TCP path is not counted).
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-2000}
PORT=${PORT:-8089}
command -v valgrind >/dev/null || { echo "valgrind is not installed; skipped"; exit 0; }
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p jwt-benches --example load_server
  BIN=${CARGO_TARGET_DIR:-target}/release/examples/load_server
fi
export JWT_SECRET_KEY=0123456789abcdef0123456789abcdef
export RUST_LOG=off
. benches/load/common.sh
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

count() { # server name, extra env...
  local name=$1; shift
  env PORT=$PORT REMOTE=${REMOTE:-1} "$@" valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.%p" \
    "$BIN" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 600); do curl -s -o /dev/null "localhost:$PORT/unprotected" && break; sleep 0.1; done
  declare -A token
  token[unprotected]=$(curl -s -X POST "localhost:$PORT/login")
  token[protected]=${token[unprotected]}
  token[remote_rs256]=$(curl -s -X POST "localhost:$PORT/login_rs256")
  token[remote_es256]=$(curl -s -X POST "localhost:$PORT/login_es256")
  local vpid
  vpid=$(pgrep -f "callgrind-out-file=$OUT" | head -1)
  for route in unprotected protected remote_rs256 remote_es256; do
    local urls
    urls=$(for _ in $(seq "$N"); do printf 'http://127.0.0.1:%s/%s ' "$PORT" "$route"; done)
    # shellcheck disable=SC2086
    curl -s -H "Authorization: Bearer ${token[$route]}" $urls >/dev/null
    callgrind_control -z "$vpid" >/dev/null
    local ok
    # shellcheck disable=SC2086
    ok=$(curl -s -w '%{http_code}\n' -H "Authorization: Bearer ${token[$route]}" $urls | grep -c '200$' || true)
    callgrind_control -d "$vpid" >/dev/null
    [ "$ok" = "$N" ] || echo "/$route: $ok of $N answered 200"
    local dump total
    dump=$(ls -t "$OUT"/cg.* | head -1)
    total=$(awk '/^(summary|totals):/ {print $2}' "$dump" | head -1)
    echo "| $name | $route | $(( total / N )) |"
    rm -f "$dump"
  done
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
}

echo "| server | route | instructions per request |"
echo "|---|---|---|"
count repeated
count first-seen JWT_VERIFIED_TOKEN_CACHE_SIZE=0
