#!/usr/bin/env bash
# Instructions per request (callgrind) on the load server: the handler unprotected, behind a
# repeated Bearer token (#[jwt_required]) and behind #[jwt_required(dpop)] with ES256 and EdDSA
# proofs (a new proof on every request, as in benches/load/dpop.sh). Instruction counts do not
# depend on what else the machine runs, unlike the load runs.
#
#   benches/load/dpop_instructions.sh [seconds per route (10)]
#   KEEP=dir benches/load/dpop_instructions.sh    # keep the callgrind dumps (callgrind_annotate)
#
# Per route: wrk -t1 -c1 for 2 s of warm-up, the counters zeroed (callgrind_control -z), wrk for
# the given seconds, a dump (callgrind_control -d); the dump's total divided by the requests wrk
# completed (the one in flight at the end adds under 0.1%). Server-side instructions only (the
# kernel's TCP path is not counted). Any refused request fails the script.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-10}
PORT=${PORT:-8089}
command -v valgrind >/dev/null || { echo "valgrind is not installed; skipped"; exit 0; }
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk); skipped"; exit 0; }
cargo build --release -q -p jwt-benches --example load_server --example dpop_proofs
BIN=${CARGO_TARGET_DIR:-target}/release/examples
export JWT_SECRET_KEY=0123456789abcdef0123456789abcdef
export RUST_LOG=off
export JWT_DPOP_PUBLIC_URL=http://127.0.0.1:$PORT
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"; [ -z "${pid:-}" ] || kill $pid 2>/dev/null || true' EXIT

env PORT=$PORT valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.%p" "$BIN/load_server" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 600); do curl -s -o /dev/null "localhost:$PORT/unprotected" && break; sleep 0.1; done
vpid=$(pgrep -f "callgrind-out-file=$OUT" | head -1)
token=$(curl -s -X POST "localhost:$PORT/login")

# run ROUTE SECONDS ALG: wrk on /ROUTE (ALG: with a fresh proof file of that key); prints the
# completed requests; fails on any refusal.
run() {
  local args=(-H "Authorization: Bearer $token") out
  if [ "$3" != - ]; then
    # Under callgrind a proof takes a few ms: 2000 per second is plenty.
    env TARGET=127.0.0.1:$PORT ALG=$3 N=$(( $2 * 2000 )) OUT="$OUT/proofs" "$BIN/dpop_proofs" 2>/dev/null
    args=(-s benches/load/dpop.lua)
  fi
  out=$(wrk -t1 -c1 -d"$2s" "${args[@]}" "http://127.0.0.1:$PORT/$1" -- "$OUT/proofs")
  if echo "$out" | grep -q 'Non-2xx\|Socket errors'; then echo "$out" >&2; exit 1; fi
  echo "$out" | awk '/requests in/ {print $1}'
}

echo "| route | instructions per request |"
echo "|---|---|"
for case in unprotected:- protected:- dpop:ES256 dpop:EdDSA; do
  route=${case%:*} alg=${case#*:}
  run "$route" 2 "$alg" >/dev/null
  callgrind_control -z "$vpid" >/dev/null 2>&1
  n=$(run "$route" "$SECS" "$alg")
  callgrind_control -d "$vpid" >/dev/null 2>&1
  dump=$(ls -t "$OUT"/cg.* | head -1)
  total=$(awk '/^(summary|totals):/ {print $2}' "$dump" | head -1)
  name=$route; [ "$alg" = - ] || name="$route $alg"
  echo "| $name | $(( total / n )) ($n requests) |"
  if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP"; mv "$dump" "$KEEP/${route}_$alg.callgrind"; else rm -f "$dump"; fi
done
