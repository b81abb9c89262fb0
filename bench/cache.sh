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
  wait_up "$port"
}
baseline() { (PORT=9300 exec taskset -c 0 "$BUN" "$BENCH_DIR/baseline.ts" >/dev/null 2>&1) & PIDS+=($!); wait_up_baseline; }
wait_up_baseline() { for _ in $(seq 1 100); do curl -sf http://127.0.0.1:9300/healthz >/dev/null && return; sleep 0.05; done; exit 1; }
stop_all() { for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; PIDS=(); }
token() {
  curl -s -o /dev/null -X POST "http://127.0.0.1:$1/register" -H 'Content-Type: application/json' \
    -d '{"name":"Bench","email":"bench@example.com","password":"bench-password-123"}'
  curl -s -X POST "http://127.0.0.1:$1/login" -H 'Content-Type: application/json' \
    -d '{"email":"bench@example.com","password":"bench-password-123"}' | sed -E 's/.*"access_token":"([^"]+)".*/\1/'
}
# load <wrk cpus> <connections> <url> [KEY=VALUE…]: 2 s warm-up, then one measured run; prints BENCH_JSON.
load() {
  local cpus=$1 conns=$2 url=$3; shift 3
  env "$@" taskset -c "$cpus" wrk -t1 -c"$conns" -d2s -s "$LUA" "$url" >/dev/null
  env "$@" taskset -c "$cpus" wrk -t1 -c"$conns" -d"$DURATION" --latency -s "$LUA" "$url" | sed -n 's/^BENCH_JSON //p'
}
rps() { sed -E 's/.*"rps":([0-9.]+).*/\1/'; }
non2xx() { sed -E 's/.*"non2xx":([0-9]+).*/\1/' | grep -E '^[0-9]+$' || echo "?"; }
ratio() { echo "scale=3; $1 / $2" | bc; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
baseline; base1=$(load 1 $CONNS http://127.0.0.1:9300/me | rps); stop_all

declare -A R
for db in sqlite postgres; do
  url="sqlite://$WORK/sqlite.db"; [ "$db" = postgres ] && url="$PG?search_path=$SCHEMA"
  for size in 50000 0; do
    start "$db-$size" 9301 "$url" 0 SESSION_CACHE_SIZE=$size
    tok=$(token 9301)
    out=$(load 1 $CONNS http://127.0.0.1:9301/me "WRK_AUTH=Bearer $tok")
    R[$db-$size]=$(echo "$out" | rps)
    echo "$db SESSION_CACHE_SIZE=$size: $out" >&2
    stop_all
  done
done

baseline; base2=$(load 1 $CONNS http://127.0.0.1:9300/me | rps); stop_all
base=$(echo "($base1 + $base2) / 2" | bc -l)

# One PostgreSQL instance on core 0, wrk on core 1; then two, on cores 0 and 1, one wrk each (-c16),
# each wrk unpinned: with two cores only, the load generators and PostgreSQL share the servers' cores.
start pg-one 9301 "$PG?search_path=$SCHEMA" 0
tok=$(token 9301)
one=$(load 1 $CONNS http://127.0.0.1:9301/me "WRK_AUTH=Bearer $tok" | rps)
stop_all
start pg-a 9301 "$PG?search_path=$SCHEMA" 0
start pg-b 9302 "$PG?search_path=$SCHEMA" 1
load 0,1 16 http://127.0.0.1:9301/me "WRK_AUTH=Bearer $tok" >"$WORK/a.json" &
first=$!
b=$(load 0,1 16 http://127.0.0.1:9302/me "WRK_AUTH=Bearer $tok" | rps)
wait "$first"; a=$(rps <"$WORK/a.json")
two=$(echo "$a + $b" | bc)
stop_all
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

{
  echo "| measurement | req/s | ratio |"
  echo "|---|---|---|"
  echo "| bare Bun.serve GET /me (before / after the services) | $base1 / $base2 | 1 (mean $(printf %.0f "$base")) |"
  echo "| GET /me, SQLite, session cache on (access log on) | ${R[sqlite-50000]} | $(ratio "${R[sqlite-50000]}" "$base") of bare |"
  echo "| GET /me, SQLite, SESSION_CACHE_SIZE=0 | ${R[sqlite-0]} | $(ratio "${R[sqlite-0]}" "$base") of bare |"
  echo "| GET /me, PostgreSQL, session cache on | ${R[postgres-50000]} | $(ratio "${R[postgres-50000]}" "$base") of bare |"
  echo "| GET /me, PostgreSQL, SESSION_CACHE_SIZE=0 | ${R[postgres-0]} | $(ratio "${R[postgres-0]}" "$base") of bare |"
  echo "| one PostgreSQL instance (core 0; wrk on core 1) | $one | 1 |"
  echo "| two instances (cores 0 and 1; two wrk -c16, unpinned) | $two ($a + $b) | $(ratio "$two" "$one")× one |"
} | tee "$BENCH_DIR/out/cache.md"
