#!/usr/bin/env bash
# Runs each fuzz target in turn for SECONDS (default 300), one process at a time, and prints the
# executions libFuzzer reports. Usage: [FUZZ_ARGS="-len_control=0 ..."] fuzz/run.sh [SECONDS] [TARGET...]
#
# libFuzzer runs one worker (-jobs=1 -workers=1), which logs to ./fuzz-0.log; the log is kept
# in fuzz/corpus-work/<target>.log instead.
#
# Each target starts from its committed corpus (fuzz/corpus/<target>) and, when present, the full
# seed set (fuzz/seeds/<target>, written by fuzz/seeds.py), and grows a scratch corpus in
# fuzz/corpus-work/<target> (ignored by git). Crashes go to fuzz/artifacts/<target>/. Shrink the
# result back into the committed corpus with fuzz/minimise.py <target> (see README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-300}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then targets=(locate jws claims); fi

for target in "${targets[@]}"; do
  work="fuzz/corpus-work/$target"
  mkdir -p "$work"
  log="fuzz/corpus-work/$target.log"
  echo "== $target: ${seconds}s"
  status=0
  dirs=("$work" "fuzz/corpus/$target")
  if [ -d "fuzz/seeds/$target" ]; then dirs+=("fuzz/seeds/$target"); fi
  nice -n 10 cargo +nightly fuzz run "$target" "${dirs[@]}" -- \
    -max_total_time="$seconds" -jobs=1 -workers=1 -print_final_stats=1 -max_len=8192 \
    -timeout=10 -rss_limit_mb=2048 ${FUZZ_ARGS:-} >"$log" 2>&1 || status=$?
  executed=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
  per_second=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
  grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true
  rm -f fuzz-0.log
  echo "$target: ${executed:-?} executions, ${per_second:-?} exec/s, exit $status (log: $log)"
  if [ "$status" -ne 0 ]; then
    grep -E 'panicked|SUMMARY|Test unit written' "$log" | head -5 || true
  fi
done
