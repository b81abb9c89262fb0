#!/usr/bin/env bash
# The session cache's bars, in one run: GET /me on SQLite and PostgreSQL beside a bare Bun.serve (cache
# on, and off for comparison), and two instances on one PostgreSQL, each on its own core, beside one.
#   bash bench/cache.sh     → markdown on stdout and in bench/out/cache.md (servers pinned with taskset)
# Needs wrk, psql, PostgreSQL (BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test).
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
BUN="$ROOT/node_modules/.bin/bun"
LUA="$BENCH_DIR/wrk/request.lua"
PG="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
DURATION="${DURATION:-6s}"
CONNS=32
# Every engineer's benchmark pins its servers to core 0 on this shared machine; SERVER_CORE=1 CLIENT_CORE=0 swaps.
SC="${SERVER_CORE:-0}"
CC="${CLIENT_CORE:-1}"
command -v wrk >/dev/null || { echo "wrk is not installed. Install it with: apt-get install wrk" >&2; exit 1; }
command -v psql >/dev/null || { echo "psql is not installed. Install it with: apt-get install postgresql-client" >&2; exit 1; }
mkdir -p "$BENCH_DIR/out"

WORK="$(mktemp -d)"
SCHEMA="bench_cache_$(date +%s)_$$"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q "$PG" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
psql -q "$PG" -c "CREATE SCHEMA $SCHEMA" >/dev/null

wait_up() { for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$1/healthz" >/dev/null && return; sleep 0.05; done; echo "port $1 did not start" >&2; exit 1; }
# start <name> <port> <database url> <core> [KEY=VALUE…]: the real entry point, rate limits off, access log on (default).
start() {
  local name=$1 port=$2 url=$3 core=$4; shift 4
  mkdir -p "$WORK/$name"
  (cd "$WORK/$name" && exec env PORT="$port" HOST=127.0.0.1 NODE_ENV=production RATE_LIMITS=off SMTP_URL=smtp://127.0.0.1:9 DATABASE_URL="$url" \
    JWT_SECRET=bench-secret-0123456789abcdef0123456789abcdef STATIC_DIR="$WORK/$name/static" DATA_DIR="$WORK/$name/data" "$@" \
    taskset -c "$core" "$BUN" "$ROOT/src/main.ts" >"$WORK/$name/log" 2>&1) &
  PIDS+=($!)
  SERVER_PID=$!
  wait_up "$port"
}
baseline() { (PORT=9300 exec taskset -c "$SC" "$BUN" "$BENCH_DIR/baseline.ts" >/dev/null 2>&1) & PIDS+=($!); SERVER_PID=$!; wait_up_baseline; }
wait_up_baseline() { for _ in $(seq 1 100); do curl -sf http://127.0.0.1:9300/healthz >/dev/null && return; sleep 0.05; done; exit 1; }
stop_all() { for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; PIDS=(); }
token() {
  curl -s -o /dev/null -X POST "http://127.0.0.1:$1/register" -H 'Content-Type: application/json' \
    -d '{"name":"Bench","email":"bench@example.com","password":"bench-password-123"}'
  curl -s -X POST "http://127.0.0.1:$1/login" -H 'Content-Type: application/json' \
    -d '{"email":"bench@example.com","password":"bench-password-123"}' | sed -E 's/.*"access_token":"([^"]+)".*/\1/'
}
# load <wrk cpus> <connections> <url> [KEY=VALUE…]: 2 s warm-up, then one measured run; prints BENCH_JSON
# with "cpu_us": the server's CPU time (utime+stime of SERVER_PID, all its threads) per request in the
# measured run. On a shared machine throughput follows whatever else runs on the core; CPU per request does not.
ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
load() {
  local cpus=$1 conns=$2 url=$3; shift 3
  env "$@" taskset -c "$cpus" wrk -t1 -c"$conns" -d2s -s "$LUA" "$url" >/dev/null
  local t0 t1 json
  t0=$(ticks)
  json=$(env "$@" taskset -c "$cpus" wrk -t1 -c"$conns" -d"$DURATION" --latency -s "$LUA" "$url" | sed -n 's/^BENCH_JSON //p')
  t1=$(ticks)
  local requests; requests=$(echo "$json" | sed -E 's/.*"requests":([0-9]+).*/\1/')
  echo "${json%\}},\"cpu_us\":$(echo "scale=1; ($t1 - $t0) * 1000000 / $(getconf CLK_TCK) / $requests" | bc)}"
}
rps() { sed -E 's/.*"rps":([0-9.]+).*/\1/'; }
cpu() { sed -E 's/.*"cpu_us":([0-9.]+).*/\1/'; }
non2xx() { sed -E 's/.*"non2xx":([0-9]+).*/\1/' | grep -E '^[0-9]+$' || echo "?"; }
ratio() { echo "scale=3; $1 / $2" | bc; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
baseline; j=$(load "$CC" $CONNS http://127.0.0.1:9300/me); base1=$(echo "$j" | rps); cbase1=$(echo "$j" | cpu); stop_all

declare -A R C
for db in sqlite postgres; do
  url="sqlite://$WORK/sqlite.db"; [ "$db" = postgres ] && url="$PG?search_path=$SCHEMA"
  for size in 50000 0 nolog; do
    [ "$db" = postgres ] && [ "$size" = nolog ] && continue
    if [ "$size" = nolog ]; then extra=(SESSION_CACHE_SIZE=50000 ACCESS_LOG=false); else extra=(SESSION_CACHE_SIZE=$size); fi
    start "$db-$size" 9301 "$url" "$SC" "${extra[@]}"
    tok=$(token 9301)
    out=$(load "$CC" $CONNS http://127.0.0.1:9301/me "WRK_AUTH=Bearer $tok")
    R[$db-$size]=$(echo "$out" | rps)
    C[$db-$size]=$(echo "$out" | cpu)
    echo "$db SESSION_CACHE_SIZE=$size: $out" >&2
    stop_all
  done
done

baseline; j=$(load "$CC" $CONNS http://127.0.0.1:9300/me); base2=$(echo "$j" | rps); cbase2=$(echo "$j" | cpu); stop_all
cbase=$(echo "($cbase1 + $cbase2) / 2" | bc -l)
base=$(echo "($base1 + $base2) / 2" | bc -l)

# One PostgreSQL instance on core 0, wrk on core 1; then two, on cores 0 and 1, one wrk each (-c16),
# each wrk unpinned: with two cores only, the load generators and PostgreSQL share the servers' cores.
start pg-one 9301 "$PG?search_path=$SCHEMA" "$SC"
tok=$(token 9301)
onejson=$(load "$CC" $CONNS http://127.0.0.1:9301/me "WRK_AUTH=Bearer $tok"); one=$(echo "$onejson" | rps)
echo "one instance: $onejson" >&2
stop_all
start pg-a 9301 "$PG?search_path=$SCHEMA" 0
start pg-b 9302 "$PG?search_path=$SCHEMA" 1
load 0,1 16 http://127.0.0.1:9301/me "WRK_AUTH=Bearer $tok" >"$WORK/a.json" &
first=$!
bjson=$(load 0,1 16 http://127.0.0.1:9302/me "WRK_AUTH=Bearer $tok"); b=$(echo "$bjson" | rps)
echo "two instances: B $bjson" >&2
wait "$first"; a=$(rps <"$WORK/a.json")
echo "two instances: A $(cat "$WORK/a.json")" >&2
two=$(echo "$a + $b" | bc)
stop_all
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

row() { echo "| $1 | $2 | $(ratio "$2" "$base") | ${3} µs | $(ratio "$cbase" "$3") |"; }
{
  echo "| measurement | req/s | ratio of bare (req/s) | server CPU per request | ratio of bare (bare CPU / this CPU) |"
  echo "|---|---|---|---|---|"
  echo "| bare Bun.serve GET /me, before the services | $base1 | | $cbase1 µs | |"
  echo "| bare Bun.serve GET /me, after the services | $base2 | | $cbase2 µs | |"
  row "GET /me, SQLite, session cache on (access log on)" "${R[sqlite-50000]}" "${C[sqlite-50000]}"
  row "GET /me, SQLite, session cache on, ACCESS_LOG=false" "${R[sqlite-nolog]}" "${C[sqlite-nolog]}"
  row "GET /me, SQLite, SESSION_CACHE_SIZE=0" "${R[sqlite-0]}" "${C[sqlite-0]}"
  row "GET /me, PostgreSQL, session cache on" "${R[postgres-50000]}" "${C[postgres-50000]}"
  row "GET /me, PostgreSQL, SESSION_CACHE_SIZE=0" "${R[postgres-0]}" "${C[postgres-0]}"
  echo "| one PostgreSQL instance (core $SC; wrk on core $CC) | $one | | | |"
  echo "| two instances (cores 0 and 1; two wrk -c16, unpinned) | $two ($a + $b) | $(ratio "$two" "$one")× one | | |"
} | tee "$BENCH_DIR/out/cache.md"
