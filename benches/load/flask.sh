#!/usr/bin/env bash
# flask-jwt-extended next to this crate, under the same load on the same core: the Python app
# (benches/load/flask_app.py) under gunicorn and the Rust load_server, each pinned to core 0 in
# turn, wrk -t1 -c32 on core 1, rounds alternating. Prints requests per second and the ratio.
#
#   benches/load/flask.sh [seconds per run (10)] [rounds (3)]
#
# Needs python3 with venv and network access to PyPI the first time (flask, flask-jwt-extended,
# gunicorn go into $VENV, default target/flask-venv); says it skipped when Python or wrk is
# missing. gunicorn runs $GUNICORN_WORKERS (2) gthread workers of $GUNICORN_THREADS (8) threads,
# all on core 0, which is what the Rust server (one thread) gets too.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-10}
ROUNDS=${2:-3}
PORT=${PORT:-8088}
FLASK_PORT=${FLASK_PORT:-8089}
VENV=$(realpath -m "${VENV:-target/flask-venv}")
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk); skipped"; exit 0; }
command -v python3 >/dev/null || { echo "python3 is not available; flask comparison skipped"; exit 0; }
if [ ! -x "$VENV/bin/gunicorn" ]; then
  python3 -m venv "$VENV" 2>/dev/null && "$VENV/bin/pip" install -q flask flask-jwt-extended gunicorn \
    || { echo "could not install flask-jwt-extended and gunicorn into $VENV; skipped"; exit 0; }
fi
cargo build --release -q -p jwt-benches --example load_server
export JWT_SECRET_KEY=0123456789abcdef0123456789abcdef
export RUST_LOG=off

. benches/load/common.sh
taskset -c 0 target/release/examples/load_server >/dev/null 2>&1 &
RUST_PID=$!
taskset -c 0 "$VENV/bin/gunicorn" --chdir benches/load -b "127.0.0.1:$FLASK_PORT" \
  -w "${GUNICORN_WORKERS:-2}" -k gthread --threads "${GUNICORN_THREADS:-8}" --log-level warning \
  flask_app:app >/dev/null 2>&1 &
FLASK_PID=$!
trap 'kill $RUST_PID $FLASK_PID 2>/dev/null || true' EXIT
wait_for "$PORT" && wait_for "$FLASK_PORT" || { echo "a server did not start"; exit 1; }

for name in rust:$PORT flask:$FLASK_PORT; do
  port=${name#*:}
  token=$(curl -s -X POST "localhost:$port/login")
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "localhost:$port/protected")
  [ "$code" = 200 ] || { echo "${name%%:*}: the protected route answered $code"; exit 1; }
  declare "TOKEN_${name%%:*}=$token"
done
for round in $(seq "$ROUNDS"); do
  echo "  round $round"
  for name in rust:$PORT flask:$FLASK_PORT; do
    server=${name%%:*}; port=${name#*:}; tokvar="TOKEN_$server"
    for route in unprotected protected; do
      measure "$server" "$port" "$route" "${!tokvar}"
    done
  done
done
echo
echo "| route | flask-jwt-extended (gunicorn) | jwt-runtime (Poem) | ratio |"
echo "|---|---|---|---|"
for route in unprotected protected; do
  f=$(avg "flask/$route"); r=$(avg "rust/$route")
  echo "| $route | $f | $r | $(ratio "$r" "$f" 1)x |"
done
