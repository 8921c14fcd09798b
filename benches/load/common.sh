# Shared by the load scripts (sourced): one wrk measurement and the averages of the rounds.
# The load generator is pinned to core 1; the scripts pin their servers to core 0.

declare -A TOTAL COUNT

# Waits until PORT answers /unprotected (about 10 s at most).
wait_for() { for _ in $(seq 100); do curl -s -o /dev/null "localhost:$1/unprotected" && return 0; sleep 0.1; done; return 1; }

# measure NAME PORT ROUTE TOKEN: `wrk -t1 -c32` for $SECS seconds on /ROUTE with the bearer TOKEN;
# prints the rate and adds it to NAME/ROUTE's rounds.
measure() {
  local rps
  rps=$(taskset -c 1 wrk -t1 -c32 -d"${SECS}s" -H "Authorization: Bearer $4" \
    "http://127.0.0.1:$2/$3" | awk '/Requests\/sec/ {print $2}')
  echo "  $1 $3: $rps req/s"
  TOTAL[$1/$3]=$(echo "${TOTAL[$1/$3]:-0} + $rps" | bc)
  COUNT[$1/$3]=$(( ${COUNT[$1/$3]:-0} + 1 ))
}

# The mean rate of NAME/ROUTE over its rounds; the ratio of two rates.
avg() { echo "scale=0; ${TOTAL[$1]} / ${COUNT[$1]}" | bc; }
ratio() { echo "scale=${3:-2}; $1 / $2" | bc; }
