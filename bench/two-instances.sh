#!/usr/bin/env bash
# Issue 10's scale-out bar: two instances on one PostgreSQL, each on its own core, against one instance
# on one core. Two cores must also carry wrk, so wrk pipelines (WRK_PIPELINE, default 16 per connection)
# to spend as little CPU per request as it can, and the script reports what it took.
#   bash bench/two-instances.sh [ROUNDS]      (default 3; prints a line per round and the median ratio)
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$BENCH_DIR/services.sh"
ROUNDS="${1:-3}"
DURATION="${DURATION:-8}"
DEPTH="${WRK_PIPELINE:-16}"
need wrk psql
pg_schema bench
URL="$PG?search_path=$SCHEMA"

# wrk_on <cores> <port> <token> <seconds>: one pipelined wrk -c16; prints "<req/s> <wrk CPU s> <socket errors>".
# Socket errors are connections Bun closed under wrk (docs/operations.md, "HTTP/1.1 pipelining"); wrk opens
# them again, and what was in flight on them is lost, so they are reported beside the figure.
wrk_on() {
  local out; out="$(mktemp -p "$WORK")"
  /usr/bin/time -f "%U %S" -o "$out.time" env WRK_PIPELINE="$DEPTH" "WRK_AUTH=Bearer $3" \
    taskset -c "$1" wrk -t1 -c16 -d"$4s" -s "$LUA" "http://127.0.0.1:$2/me" | sed -n 's/^BENCH_JSON //p' >"$out"
  [ "$(sed -E 's/.*"non2xx":([0-9]+).*/\1/' "$out")" = 0 ] || { echo "non-2xx answers on port $2" >&2; exit 1; }
  echo "$(sed -E 's/.*"rps":([0-9.]+).*/\1/' "$out") $(awk '{print $1 + $2}' "$out.time") $(sed -E 's/.*"err_read":([0-9]+),"err_write":([0-9]+).*/\1 \2/' "$out" | awk '{print $1 + $2}')"
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)  pipeline depth $DEPTH, ${DURATION}s windows"
start_service a "$ROOT" 9311 "$URL" 0
A=$SERVER_PID
start_service b "$ROOT" 9312 "$URL" 1
B=$SERVER_PID
tok=$(token 9311)
# One GET /me on each instance verifies the token and caches the session first: Bun would close a
# connection that pipelines behind an answer still waiting on the database.
for port in 9311 9312; do curl -sf -o /dev/null -H "Authorization: Bearer $tok" "http://127.0.0.1:$port/me"; done
ratios=()
for round in $(seq 1 "$ROUNDS"); do
  # One instance: A alone on core 0, its wrk on core 1 (B idle there).
  wrk_on 1 9311 "$tok" 2 >/dev/null
  a0=$(ticks "$A")
  read -r one one_wrk one_err < <(wrk_on 1 9311 "$tok" "$DURATION")
  a1=$(ticks "$A")
  # Two instances: A on core 0 and B on core 1, one wrk each, left to the scheduler on both cores.
  wrk_on 0,1 9312 "$tok" 2 >/dev/null
  a2=$(ticks "$A"); b2=$(ticks "$B")
  wrk_on 0,1 9311 "$tok" "$DURATION" >"$WORK/two-a" &
  w=$!
  read -r two_b wrk_b err_b < <(wrk_on 0,1 9312 "$tok" "$DURATION")
  wait "$w"
  read -r two_a wrk_a err_a <"$WORK/two-a"
  a3=$(ticks "$A"); b3=$(ticks "$B")
  hz=$(getconf CLK_TCK)
  ratio=$(echo "scale=3; ($two_a + $two_b) / $one" | bc)
  ratios+=("$ratio")
  printf 'round %s: one %.0f req/s (server %.1f µs CPU/req, wrk %.2f s CPU, %s socket errors); two %.0f + %.0f = %.0f req/s = %sx (servers %.1f / %.1f µs CPU/req, wrk %.2f + %.2f s CPU, %s + %s socket errors)\n' \
    "$round" "$one" "$(echo "($a1 - $a0) * 1000000 / $hz / ($one * $DURATION)" | bc -l)" "$one_wrk" "$one_err" \
    "$two_a" "$two_b" "$(echo "$two_a + $two_b" | bc)" "$ratio" \
    "$(echo "($a3 - $a2) * 1000000 / $hz / ($two_a * $DURATION)" | bc -l)" "$(echo "($b3 - $b2) * 1000000 / $hz / ($two_b * $DURATION)" | bc -l)" "$wrk_a" "$wrk_b" "$err_a" "$err_b"
done
echo "RESULT two instances / one, median of $ROUNDS: $(printf '%s\n' "${ratios[@]}" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')x (bar >= 1.6x)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
