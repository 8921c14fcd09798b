#!/usr/bin/env bash
# DPoP under load (RFC 9449, docs/dpop.md): the same handler unprotected, behind a Bearer token
# (#[jwt_required], one token repeated: served from the verified-token cache) and behind
# #[jwt_required(dpop)] with ES256 and with EdDSA proofs, side by side in one server, the rounds
# alternating the routes. A proof is verified on every request (one asymmetric signature) and
# never cached, and each is accepted once: every DPoP request carries a proof of its own, written
# just before its run by the dpop_proofs example (after a real login with a proof, `POST
# /login_dpop`) and handed out by wrk's Lua script (dpop.lua). Any non-2xx answer (a replayed or
# missing proof is a 401) or socket error fails the script. Server on core 0, `wrk -t1 -c32` on
# core 1 (taskset).
#
#   benches/load/dpop.sh [seconds per run (5)] [rounds (3)]
#   FLOOD=0 benches/load/dpop.sh ...     # skip the flood
#
# The flood (FLOOD distinct proofs, 200000 by default, on a fresh server): the server's RSS idle,
# after FLOOD proofs, and after a second FLOOD once the first ones have expired (the proof window,
# JWT_DPOP_PROOF_MAX_AGE, 60 s, has passed): the replay record drops expired proofs and is capped
# (MAX_MEMORY_PROOFS), so the second flood reuses the memory of the first.
#
# PROOF_RATE (20000) proofs are written per second of a DPoP run: raise it if a run fails for
# want of proofs (the rate then exceeds it). The proofs keep the default window
# (JWT_DPOP_PROOF_MAX_AGE=60): each is written at most a few seconds before it is sent.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-5}
ROUNDS=${2:-3}
PORT=${PORT:-8088}
FLOOD=${FLOOD:-200000}
PROOF_RATE=${PROOF_RATE:-20000}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk); skipped"; exit 0; }
cargo build --release -q -p jwt-benches --example load_server --example dpop_proofs
BIN=${CARGO_TARGET_DIR:-target}/release/examples
export JWT_SECRET_KEY=0123456789abcdef0123456789abcdef
export RUST_LOG=off
export JWT_DPOP_PUBLIC_URL=http://127.0.0.1:$PORT
. benches/load/common.sh
TMP=$(mktemp -d)
PID=
trap 'rm -rf "$TMP"; [ -z "$PID" ] || kill $PID 2>/dev/null || true' EXIT

start_server() {
  env PORT=$PORT taskset -c 0 "$BIN/load_server" >/dev/null 2>&1 &
  PID=$!
  wait_for "$PORT" || { echo "the server did not start"; exit 1; }
}
stop_server() { kill $PID; wait $PID 2>/dev/null || true; PID=; }
rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$PID/status"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
x() { printf '%.3fx' "$(ratio "$1" "$2" 4)"; } # a ratio with its leading zero

# proofs ALG N: writes the bound token and N proofs of ALG to $TMP/ALG (client core).
proofs() {
  env TARGET=127.0.0.1:$PORT ALG=$1 N=$2 OUT="$TMP/$1" taskset -c 1 "$BIN/dpop_proofs" 2>/dev/null
}

# wrk_dpop ALG SECONDS: wrk on /dpop with the proofs of $TMP/ALG; fails on any refusal; prints
# "requests rate".
wrk_dpop() {
  local out bad
  out=$(taskset -c 1 wrk -t1 -c32 -d"$2s" -s benches/load/dpop.lua "http://127.0.0.1:$PORT/dpop" -- "$TMP/$1")
  bad=$(echo "$out" | awk '/Non-2xx/ {n += $NF} /Socket errors/ {n += 1} END {print n + 0}')
  if [ "$bad" != 0 ]; then
    echo "$out" >&2
    echo "DPoP $1: refused answers or socket errors (a proof replayed, or PROOF_RATE too low)" >&2
    exit 1
  fi
  echo "$out" | awk '/requests in/ {r = $1} /Requests\/sec/ {print r, $2}'
}

# measure_dpop ALG: fresh proofs for one run, then the run; adds the rate to dpop/ALG's rounds.
measure_dpop() {
  proofs "$1" $(( SECS * PROOF_RATE ))
  local rps
  rps=$(wrk_dpop "$1" "$SECS" | cut -d' ' -f2)
  echo "  dpop $1: $rps req/s"
  TOTAL[dpop/$1]=$(echo "${TOTAL[dpop/$1]:-0} + $rps" | bc)
  COUNT[dpop/$1]=$(( ${COUNT[dpop/$1]:-0} + 1 ))
}

echo "== dpop: ${SECS}s per run, $ROUNDS rounds, wrk -t1 -c32 on core 1, server on core 0; load average $(loadavg)"
start_server
token=$(curl -s -X POST "localhost:$PORT/login")
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "localhost:$PORT/protected")" = 200 ] \
  || { echo "the protected route refused the token"; exit 1; }
for round in $(seq "$ROUNDS"); do
  echo "  round $round (load average $(loadavg))"
  measure bearer "$PORT" unprotected "$token"
  measure bearer "$PORT" protected "$token"
  measure_dpop ES256
  measure_dpop EdDSA
done
echo "  server RSS after the rounds: $(rss) MiB; load average $(loadavg)"
stop_server

echo
echo "| route | req/s | vs unprotected | vs Bearer |"
echo "|---|---|---|---|"
u=$(avg bearer/unprotected); b=$(avg bearer/protected)
echo "| unprotected | $u | 1.000x | $(x "$u" "$b") |"
echo "| Bearer, #[jwt_required] (cached token) | $b | $(x "$b" "$u") | 1.000x |"
for alg in ES256 EdDSA; do
  d=$(avg "dpop/$alg")
  echo "| DPoP $alg, #[jwt_required(dpop)] | $d | $(x "$d" "$u") | $(x "$d" "$b") |"
done

[ "$FLOOD" -gt 0 ] || exit 0
echo
echo "== flood: $FLOOD distinct EdDSA proofs, twice, 65 s apart (fresh server); load average $(loadavg)"
start_server
echo "  idle: RSS $(rss) MiB"
# Size each run to the proofs written: the rate of the rounds above, with a margin.
flood_secs=$(( FLOOD * 10 / ($(avg dpop/EdDSA) * 12) + 1 ))
for pass in 1 2; do
  proofs EdDSA "$FLOOD"
  read -r sent rate < <(wrk_dpop EdDSA "$flood_secs")
  echo "  flood $pass: $sent distinct proofs accepted in ${flood_secs}s ($rate req/s): RSS $(rss) MiB"
  [ $pass = 2 ] || { echo "  (waiting 65 s for the first flood's proofs to expire)"; sleep 65; }
done
stop_server
echo "  load average $(loadavg)"
