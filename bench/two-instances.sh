#!/usr/bin/env bash
# Issue 10's scale-out bar: two instances on one PostgreSQL, each on its own core, against one instance
# on one core. The two cores must also carry the load generators, so where wrk runs moves the figure.
# Every round measures one instance on core 0 twice, its wrk on core 1 ("apart") and on core 0 beside
# it ("beside"), and takes the better of the two as "one"; then the pair under each of PLACEMENTS:
#   own      each wrk on its instance's core: a core carries one instance and only its traffic
#   shared   both wrk left to the scheduler on cores 0 and 1
#   crossed  each wrk on the other instance's core
# Each ratio is against the same round's "one", and the order of the windows rotates from round to round,
# so a neighbour's load weighs on every placement alike. Each window also reports the steal the guest
# counted on both cores (time the hypervisor ran something else) and wrk's socket errors.
# wrk pipelines (WRK_PIPELINE, default 64 per connection) to spend as little CPU per request as it can.
#   bash bench/two-instances.sh [ROUNDS]      (default 5; a line per round, then the median per placement)
#   env: PLACEMENTS="own shared crossed"  DURATION=8 (seconds)  WRK_PIPELINE=64
set -euo pipefail
export LC_ALL=C
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$BENCH_DIR/services.sh"
ROUNDS="${1:-5}"
DURATION="${DURATION:-8}"
DEPTH="${WRK_PIPELINE:-64}"
read -r -a PLACES <<<"${PLACEMENTS:-own shared crossed}"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "ROUNDS is a whole number of at least 1" >&2; exit 2; }
for place in "${PLACES[@]}"; do
  case "$place" in own | shared | crossed) ;; *) echo "unknown placement $place (own, shared or crossed)" >&2; exit 2 ;; esac
done
need wrk psql
pg_schema bench
URL="$PG?search_path=$SCHEMA"

# wrk_on <cores> <port> <token> <seconds>: one pipelined wrk -c16; prints "<req/s> <socket errors>".
# Socket errors are connections Bun closed under wrk (docs/operations.md, "HTTP/1.1 pipelining"); wrk opens
# them again, and what was in flight on them is lost (not counted in req/s), so they are shown beside it.
wrk_on() {
  local out errors=0 key; out="$(mktemp -p "$WORK")"
  env WRK_PIPELINE="$DEPTH" "WRK_AUTH=Bearer $3" \
    taskset -c "$1" wrk -t1 -c16 -d"$4s" -s "$LUA" "http://127.0.0.1:$2/me" | sed -n 's/^BENCH_JSON //p' >"$out"
  [ "$(field non2xx <"$out")" = 0 ] || { echo "non-2xx answers on port $2" >&2; exit 1; }
  for key in err_connect err_read err_write err_timeout; do errors=$((errors + $(field "$key" <"$out"))); done
  echo "$(field rps <"$out") $errors"
}
steal() { awk '/^cpu / {print $9}' /proc/stat; }
per_req() { echo "scale=1; $1 * 1000000 / $(getconf CLK_TCK) / ($2 * $DURATION)" | bc; }
median() { sort -n | awk '{v[NR] = $1} END {printf "%.3f\n", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }

# one <apart|beside>: A alone on core 0 (B idle on core 1), its wrk on core 1 or on core 0; sets ONE_<which>
# and appends the window to LINE.
one() {
  local core=1; [ "$1" = beside ] && core=0
  wrk_on "$core" 9311 "$tok" 2 >/dev/null
  local a0 s0 a1 s1 rps errors
  a0=$(ticks "$A"); s0=$(steal)
  read -r rps errors < <(wrk_on "$core" 9311 "$tok" "$DURATION")
  a1=$(ticks "$A"); s1=$(steal)
  printf -v "ONE_$1" '%s' "$rps"
  LINE+=" one, wrk $1: $rps req/s ($(per_req $((a1 - a0)) "$rps") µs CPU/req, steal $((s1 - s0)), $errors socket errors);"
}
# pair <placement>: A on core 0 and B on core 1, one wrk each placed as <placement>; sets PAIR_A, PAIR_B
# and appends the window to LINE.
pair() {
  local cores_a cores_b
  case "$1" in own) cores_a=0 cores_b=1 ;; shared) cores_a=0,1 cores_b=0,1 ;; crossed) cores_a=1 cores_b=0 ;; esac
  wrk_on "$cores_b" 9312 "$tok" 2 >/dev/null
  local a0 b0 s0 a1 b1 s1 w err_a err_b
  a0=$(ticks "$A"); b0=$(ticks "$B"); s0=$(steal)
  wrk_on "$cores_a" 9311 "$tok" "$DURATION" >"$WORK/two-a" &
  w=$!
  read -r PAIR_B err_b < <(wrk_on "$cores_b" 9312 "$tok" "$DURATION")
  wait "$w"
  read -r PAIR_A err_a <"$WORK/two-a"
  a1=$(ticks "$A"); b1=$(ticks "$B"); s1=$(steal)
  LINE+=" $1: $PAIR_A + $PAIR_B req/s ($(per_req $((a1 - a0)) "$PAIR_A") / $(per_req $((b1 - b0)) "$PAIR_B") µs CPU/req, steal $((s1 - s0)), $err_a + $err_b socket errors);"
}

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
windows=(apart beside "${PLACES[@]}")
for round in $(seq 1 "$ROUNDS"); do
  LINE="round $round:"
  declare -A pair_rps=()
  # Rotate the windows' order by one each round.
  shift_by=$(((round - 1) % ${#windows[@]}))
  for window in "${windows[@]:shift_by}" "${windows[@]:0:shift_by}"; do
    case "$window" in
      apart | beside) one "$window" ;;
      *) pair "$window"; pair_rps[$window]="$PAIR_A + $PAIR_B" ;;
    esac
  done
  best=$(printf '%s\n' "$ONE_apart" "$ONE_beside" | sort -n | tail -1)
  LINE+=" one = $best;"
  for place in "${PLACES[@]}"; do
    ratio=$(echo "scale=3; (${pair_rps[$place]}) / $best" | bc)
    ratios[$place]="${ratios[$place]:-} $ratio"
    LINE+=" $place ${ratio}x"
  done
  echo "$LINE"
done
for place in "${PLACES[@]}"; do
  # shellcheck disable=SC2086
  echo "RESULT two instances / one, wrk $place, median of $ROUNDS rounds: $(printf '%s\n' ${ratios[$place]} | median)x (bar >= 1.6x)"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
