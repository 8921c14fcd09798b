#!/usr/bin/env bash
# Scale out: two app instances (load_server, STORE=redis, one shared REDIS_PREFIX) behind the
# loopback balancer (benches/load/balancer.rs, round robin per connection), wrk load through the
# balancer with a token that stays valid, and the scale_out client revoking tokens on instance A
# mid-run and counting the requests a revoked token got through on instance B after the bound.
#
#   benches/load/scale_out.sh [rounds (200)] [bound in ms (50)]
#
# Needs Redis at 127.0.0.1:6379 (says it skipped otherwise) and wrk. Both instances run on core 0,
# the balancer, wrk and the client on core 1.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-200}
BOUND_MS=${2:-50}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk); skipped"; exit 0; }
(exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null || { echo "Redis not reachable on 127.0.0.1:6379; skipped"; exit 0; }
cargo build --release -q -p jwt-benches --example load_server --example balancer --example scale_out
BIN=target/release/examples
export JWT_SECRET_KEY=0123456789abcdef0123456789abcdef RUST_LOG=off STORE=redis
export REDIS_PREFIX="jwt-scale-out-$$:"
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
env INSTANCE=A PORT=8091 taskset -c 0 $BIN/load_server >/dev/null 2>&1 & PIDS+=($!)
env INSTANCE=B PORT=8092 taskset -c 0 $BIN/load_server >/dev/null 2>&1 & PIDS+=($!)
taskset -c 1 $BIN/balancer 127.0.0.1:8090 127.0.0.1:8091 127.0.0.1:8092 & PIDS+=($!)
for port in 8091 8092 8090; do
  for _ in $(seq 50); do curl -s -o /dev/null "localhost:$port/unprotected" && break; sleep 0.1; done
done
token=$(curl -s -X POST localhost:8091/login)
echo "== scale out: $ROUNDS revocations on A under wrk -t1 -c32 load through the balancer"
taskset -c 1 wrk -t1 -c32 -d600s -H "Authorization: Bearer $token" http://127.0.0.1:8090/protected \
  > "${TMPDIR:-/tmp}/scale_out_wrk.$$" 2>&1 & WRK=$!
PIDS+=($WRK)
sleep 2
status=0
env LB=127.0.0.1:8090 A=127.0.0.1:8091 ROUNDS=$ROUNDS BOUND_MS=$BOUND_MS taskset -c 1 $BIN/scale_out || status=$?
kill -INT $WRK 2>/dev/null || true; wait $WRK 2>/dev/null || true
grep -E "Requests/sec|requests in" "${TMPDIR:-/tmp}/scale_out_wrk.$$" | sed 's/^/  wrk (background load): /'
rm -f "${TMPDIR:-/tmp}/scale_out_wrk.$$"
exit $status
