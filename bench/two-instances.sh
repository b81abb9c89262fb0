#!/usr/bin/env bash
# Issue 10's scale-out bar: two instances on one PostgreSQL, each on its own core, against one instance
# on one core. The two cores must also carry the load generators, so where wrk runs moves the figure:
# every round measures one instance on core 0 twice, its wrk on core 1 and then on core 0 beside it, and
# takes the better of the two as "one"; then the pair under each of PLACEMENTS:
#   own      each wrk on its instance's core: a core carries one instance and only its traffic
#   shared   both wrk left to the scheduler on cores 0 and 1
#   crossed  each wrk on the other instance's core
# Each ratio is against the same round's one instance, so a neighbour's load weighs on both sides alike;
# the "steal" column is the time the hypervisor took from both cores during the round.
# wrk pipelines (WRK_PIPELINE, default 64 per connection) to spend as little CPU per request as it can.
#   bash bench/two-instances.sh [ROUNDS]      (default 5; a line per round, then the median per placement)
#   env: PLACEMENTS="own shared crossed"  DURATION=8 (seconds)  WRK_PIPELINE=64
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$BENCH_DIR/services.sh"
ROUNDS="${1:-5}"
DURATION="${DURATION:-8}"
DEPTH="${WRK_PIPELINE:-64}"
read -r -a PLACES <<<"${PLACEMENTS:-own shared crossed}"
need wrk psql
pg_schema bench
URL="$PG?search_path=$SCHEMA"

# wrk_on <cores> <port> <token> <seconds>: one pipelined wrk -c16; prints "<req/s> <socket errors>".
# Socket errors are connections Bun closed under wrk (docs/operations.md, "HTTP/1.1 pipelining"); wrk opens
# them again, and what was in flight on them is lost, so they are reported beside the figure.
wrk_on() {
  local out; out="$(mktemp -p "$WORK")"
  env WRK_PIPELINE="$DEPTH" "WRK_AUTH=Bearer $3" \
    taskset -c "$1" wrk -t1 -c16 -d"$4s" -s "$LUA" "http://127.0.0.1:$2/me" | sed -n 's/^BENCH_JSON //p' >"$out"
  [ "$(sed -E 's/.*"non2xx":([0-9]+).*/\1/' "$out")" = 0 ] || { echo "non-2xx answers on port $2" >&2; exit 1; }
  echo "$(sed -E 's/.*"rps":([0-9.]+).*/\1/' "$out") $(sed -E 's/.*"err_read":([0-9]+),"err_write":([0-9]+).*/\1 \2/' "$out" | awk '{print $1 + $2}')"
}
# cores_of <placement>: the cores of wrk A and wrk B.
cores_of() {
  case "$1" in
    own) echo "0 1" ;;
    shared) echo "0,1 0,1" ;;
    crossed) echo "1 0" ;;
    *) echo "unknown placement $1 (own, shared or crossed)" >&2; exit 2 ;;
  esac
}
steal() { awk '/^cpu / {print $9}' /proc/stat; }
per_req() { echo "scale=1; $1 * 1000000 / $(getconf CLK_TCK) / ($2 * $DURATION)" | bc; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)  pipeline depth $DEPTH, ${DURATION}s windows, placements ${PLACES[*]}"
start_service a "$ROOT" 9311 "$URL" 0
A=$SERVER_PID
start_service b "$ROOT" 9312 "$URL" 1
B=$SERVER_PID
tok=$(token 9311)
# One GET /me on each instance verifies the token and caches the session first: Bun would close a
# connection that pipelines behind an answer still waiting on the database.
for port in 9311 9312; do curl -sf -o /dev/null -H "Authorization: Bearer $tok" "http://127.0.0.1:$port/me"; done
declare -A ratios
for round in $(seq 1 "$ROUNDS"); do
  # One instance: A alone on core 0 (B idle on core 1), its wrk on core 1 and then on core 0 beside it.
  wrk_on 1 9311 "$tok" 2 >/dev/null
  a0=$(ticks "$A"); s0=$(steal)
  read -r apart apart_err < <(wrk_on 1 9311 "$tok" "$DURATION")
  a1=$(ticks "$A"); s1=$(steal)
  read -r beside beside_err < <(wrk_on 0 9311 "$tok" "$DURATION")
  a2=$(ticks "$A"); s2=$(steal)
  one=$(printf '%s\n' "$apart" "$beside" | sort -n | tail -1)
  line="round $round: one $one req/s [wrk apart $apart ($(per_req $((a1 - a0)) "$apart") µs CPU/req, steal $((s1 - s0)) ticks, $apart_err socket errors);"
  line+=" wrk beside $beside ($(per_req $((a2 - a1)) "$beside") µs, steal $((s2 - s1)), $beside_err)]"
  for place in "${PLACES[@]}"; do
    read -r cores_a cores_b < <(cores_of "$place")
    wrk_on "$cores_b" 9312 "$tok" 2 >/dev/null
    a2=$(ticks "$A"); b2=$(ticks "$B"); s2=$(steal)
    wrk_on "$cores_a" 9311 "$tok" "$DURATION" >"$WORK/two-a" &
    w=$!
    read -r two_b err_b < <(wrk_on "$cores_b" 9312 "$tok" "$DURATION")
    wait "$w"
    read -r two_a err_a <"$WORK/two-a"
    a3=$(ticks "$A"); b3=$(ticks "$B"); s3=$(steal)
    ratio=$(echo "scale=3; ($two_a + $two_b) / $one" | bc)
    ratios[$place]="${ratios[$place]:-} $ratio"
    line+="; $place $two_a + $two_b = ${ratio}x ($(per_req $((a3 - a2)) "$two_a") / $(per_req $((b3 - b2)) "$two_b") µs CPU/req, steal $((s3 - s2)), $err_a + $err_b socket errors)"
  done
  echo "$line"
done
for place in "${PLACES[@]}"; do
  # shellcheck disable=SC2086
  echo "RESULT two instances / one, wrk $place, median of $ROUNDS: $(printf '%s\n' ${ratios[$place]} | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')x (bar >= 1.6x)"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
