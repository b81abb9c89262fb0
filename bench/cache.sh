#!/usr/bin/env bash
# The session cache's bars, in one run: GET /me on SQLite and PostgreSQL beside a bare Bun.serve (cache
# on, and off for comparison), and two instances on one PostgreSQL, each on its own core, beside one.
#   bash bench/cache.sh     → markdown on stdout and in bench/out/cache.md (servers pinned with taskset)
# Each GET /me figure is taken side by side with a bare Bun.serve on the same core (ROUNDS, default 3): at the
# same time (default), or with PAIRING=turns one after the other in adjacent windows (bare, service, bare).
# Needs wrk, psql, PostgreSQL (BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test).
set -euo pipefail
shopt -s inherit_errexit # a failed wrk or server inside $(…) stops the run too
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$BENCH_DIR/services.sh"
DURATION="${DURATION:-5s}"
ROUNDS="${ROUNDS:-3}"
PAIRING="${PAIRING:-together}"
[ "$PAIRING" = together ] || [ "$PAIRING" = turns ] || { echo "PAIRING is together or turns" >&2; exit 1; }
CONNS=32
# Every engineer's benchmark pins its servers to core 0 on this shared machine; SERVER_CORE=1 CLIENT_CORE=0 swaps.
SC="${SERVER_CORE:-0}"
CC="${CLIENT_CORE:-1}"
need wrk psql
mkdir -p "$BENCH_DIR/out"
pg_schema bench_cache

# load <wrk cpus> <connections> <url> [KEY=VALUE…]: 2 s warm-up, then one measured run; prints BENCH_JSON
# with "cpu_us": the server's CPU time (utime+stime of SERVER_PID, all its threads) per request in the
# measured run. On a shared machine throughput follows whatever else runs on the core; CPU per request does not.
load() {
  local cpus=$1 conns=$2 url=$3; shift 3
  env "$@" taskset -c "$cpus" wrk -t1 -c"$conns" -d2s -s "$LUA" "$url" >/dev/null
  local t0 t1 json
  local pid=${LOAD_PID:-$SERVER_PID}
  t0=$(ticks "$pid")
  json=$(env "$@" taskset -c "$cpus" wrk -t1 -c"$conns" -d"$DURATION" --latency -s "$LUA" "$url" | sed -n 's/^BENCH_JSON //p')
  t1=$(ticks "$pid")
  local requests; requests=$(echo "$json" | field requests)
  echo "${json%\}},\"cpu_us\":$(cpu_us "$t0" "$t1" "$requests")}"
}
ratio() { echo "scale=3; $1 / $2" | bc; }
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

# hit <port> <authorization> <seconds> [out]: one wrk on core $CC against <port>/me; its BENCH_JSON to <out>.
hit() {
  WRK_AUTH="$2" taskset -c "$CC" wrk -t1 -c$CONNS -d"$3" -s "$LUA" "http://127.0.0.1:$1/me" | sed -n 's/^BENCH_JSON //p' >"${4:-/dev/null}"
}
# window_us <ticks before> <ticks after> <wrk json file>: the server's CPU µs per request in that window.
window_us() { cpu_us "$1" "$2" "$(field requests <"$3")"; }
# alone <port> <authorization> <pid> <out>: 1 s warm-up, then one $DURATION window of that server alone; prints its CPU µs per request.
alone() {
  hit "$1" "$2" 1s
  local t0 t1; t0=$(ticks "$3"); hit "$1" "$2" "$DURATION" "$4"; t1=$(ticks "$3")
  window_us "$t0" "$t1" "$4"
}

# side <port> <token> [X-Forwarded-For]: the service on <port> and the bare baseline, both on core $SC,
# each loaded by one wrk on core $CC. PAIRING=together (default): at the same time (1 s warm-up, then
# $DURATION), so whatever else the machine runs weighs on both alike, and each pays for sharing the core
# with the other. PAIRING=turns: one after the other, each alone on the core, bare-service-bare, the bare
# figures averaged, so a drift that is steady across the round weighs on both alike.
# Prints "<service CPU µs> <bare CPU µs> <service req/s> <bare req/s>".
side() {
  local port=$1 tok=$2 w s b s0 b0 s1 b1 b2 bare_rps
  export WRK_FORWARDED_FOR="${3:-}"
  if [ "$PAIRING" = turns ]; then
    b=$(alone 9300 "Bearer x" "$BARE_PID" "$WORK/bare.json"); bare_rps=$(field rps <"$WORK/bare.json")
    s=$(alone "$port" "Bearer $tok" "$SERVER_PID" "$WORK/service.json")
    b2=$(alone 9300 "Bearer x" "$BARE_PID" "$WORK/bare.json")
    b=$(echo "scale=2; ($b + $b2) / 2" | bc); bare_rps=$(echo "scale=1; ($bare_rps + $(field rps <"$WORK/bare.json")) / 2" | bc)
  else
    hit 9300 "Bearer x" 1s & w=$!
    hit "$port" "Bearer $tok" 1s; wait "$w"
    s0=$(ticks "$SERVER_PID"); b0=$(ticks "$BARE_PID")
    hit 9300 "Bearer x" "$DURATION" "$WORK/bare.json" & w=$!
    hit "$port" "Bearer $tok" "$DURATION" "$WORK/service.json"; wait "$w"
    s1=$(ticks "$SERVER_PID"); b1=$(ticks "$BARE_PID")
    s=$(window_us "$s0" "$s1" "$WORK/service.json"); b=$(window_us "$b0" "$b1" "$WORK/bare.json")
    bare_rps=$(field rps <"$WORK/bare.json")
  fi
  [ "$(field non2xx <"$WORK/service.json")" = 0 ] || { echo "non-2xx answers from the service" >&2; exit 1; }
  [[ $s =~ ^[0-9]*\.?[0-9]+$ && $b =~ ^[0-9]*\.?[0-9]+$ ]] || { echo "no CPU figure for a window (service '$s', bare '$b')" >&2; exit 1; }
  echo "$s $b $(field rps <"$WORK/service.json") $bare_rps"
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
start_baseline "$SC"

declare -A ROW
for db in sqlite postgres; do
  url="sqlite://$WORK/sqlite.db"; [ "$db" = postgres ] && url="$PG?search_path=$SCHEMA"
  for size in 50000 0 nolog proxy; do
    [ "$db" = postgres ] && { [ "$size" = nolog ] || [ "$size" = proxy ]; } && continue
    # proxy: the same access line, its address read from X-Forwarded-For as behind a load balancer,
    # instead of asked of the socket (a system call per request in Bun).
    forwarded=""
    case $size in
      nolog) extra=(SESSION_CACHE_SIZE=50000 ACCESS_LOG=false) ;;
      proxy) extra=(SESSION_CACHE_SIZE=50000 TRUST_PROXY=1); forwarded=$FORWARDED_FOR ;;
      *) extra=(SESSION_CACHE_SIZE=$size) ;;
    esac
    start_service "$db-$size" "$ROOT" 9301 "$url" "$SC" "${extra[@]}"
    tok=$(token 9301)
    ratios=""; cpus=""; bares=""; reqs=""; breqs=""
    for round in $(seq 1 "$ROUNDS"); do
      read -r s b sr br < <(side 9301 "$tok" "$forwarded")
      echo "$db ${extra[*]} round $round: service ${s} µs ${sr}/s, bare ($PAIRING) ${b} µs ${br}/s" >&2
      ratios+="$(ratio "$b" "$s") "; cpus+="$s "; bares+="$b "; reqs+="$sr "; breqs+="$br "
    done
    ROW[$db-$size]="$(echo "$cpus" | median) µs / $(echo "$bares" | median) µs | **$(echo "$ratios" | median)** (${ratios% }) | $(echo "$reqs" | median) / $(echo "$breqs" | median)"
    kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true
    # The row stands for a logged address only if the lines carry it.
    if [ -n "$forwarded" ] && ! grep -q "\"ip\":\"$forwarded\"" "$WORK/$db-$size/log"; then
      echo "the $db-$size access log does not carry $forwarded" >&2; exit 1
    fi
  done
done
kill -TERM "$BARE_PID" 2>/dev/null || true; wait "$BARE_PID" 2>/dev/null || true

# One PostgreSQL instance on core 0, wrk on core 1; then two, on cores 0 and 1, one wrk each (-c16),
# each wrk unpinned: with two cores only, the load generators and PostgreSQL share the servers' cores.
start_service pg-one "$ROOT" 9301 "$PG?search_path=$SCHEMA" "$SC"
tok=$(token 9301)
onejson=$(load "$CC" $CONNS http://127.0.0.1:9301/me "WRK_AUTH=Bearer $tok"); one=$(echo "$onejson" | field rps)
echo "one instance: $onejson" >&2
stop_all
start_service pg-a "$ROOT" 9301 "$PG?search_path=$SCHEMA" 0
A_PID=$SERVER_PID
start_service pg-b "$ROOT" 9302 "$PG?search_path=$SCHEMA" 1
LOAD_PID=$A_PID load 0,1 16 http://127.0.0.1:9301/me "WRK_AUTH=Bearer $tok" >"$WORK/a.json" &
first=$!
bjson=$(load 0,1 16 http://127.0.0.1:9302/me "WRK_AUTH=Bearer $tok"); b=$(echo "$bjson" | field rps)
echo "two instances: B $bjson" >&2
wait "$first"; a=$(field rps <"$WORK/a.json")
echo "two instances: A $(cat "$WORK/a.json")" >&2
two=$(echo "$a + $b" | bc)
stop_all
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

{
  if [ "$PAIRING" = turns ]; then
    echo "Side by side, in turns: the service and a bare Bun.serve both on core $SC, each loaded alone by one wrk on core $CC in adjacent $DURATION windows (bare, service, bare; the two bare windows averaged), $ROUNDS rounds; medians (every round's ratio in brackets)."
  else
    echo "Side by side: the service and a bare Bun.serve both on core $SC, one wrk each on core $CC at the same time, $DURATION runs, $ROUNDS rounds; medians (every round's ratio in brackets)."
  fi
  echo
  echo "| measurement | server CPU per request: service / bare ($PAIRING) | ratio (bare CPU / service CPU) | req/s: service / bare ($PAIRING) |"
  echo "|---|---|---|---|"
  echo "| GET /me, SQLite, session cache on (access log on) | ${ROW[sqlite-50000]} |"
  echo "| GET /me, SQLite, session cache on, ACCESS_LOG=false | ${ROW[sqlite-nolog]} |"
  echo "| GET /me, SQLite, session cache on, access log on, address from X-Forwarded-For (TRUST_PROXY=1) | ${ROW[sqlite-proxy]} |"
  echo "| GET /me, SQLite, SESSION_CACHE_SIZE=0 | ${ROW[sqlite-0]} |"
  echo "| GET /me, PostgreSQL, session cache on (access log on) | ${ROW[postgres-50000]} |"
  echo "| GET /me, PostgreSQL, SESSION_CACHE_SIZE=0 | ${ROW[postgres-0]} |"
  echo
  echo "| scale-out | req/s | server CPU per request |"
  echo "|---|---|---|"
  echo "| one PostgreSQL instance (core $SC; wrk on core $CC) | $one | $(echo "$onejson" | field cpu_us) µs |"
  echo "| two instances (cores 0 and 1; two wrk -c16, unpinned) | $two ($a + $b) = $(ratio "$two" "$one")× one | A $(field cpu_us <"$WORK/a.json") µs, B $(echo "$bjson" | field cpu_us) µs |"
} | tee "$BENCH_DIR/out/cache.md"
