#!/usr/bin/env bash
# Scale-out figures, in one run: GET /me and POST /login on SQLite beside PostgreSQL, and two
# instances (on one PostgreSQL) beside one. Servers on core 0, wrk on core 1, 127.0.0.1 only, every
# load bounded in time. Needs PostgreSQL (BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test).
#   bash bench/scale.sh            → markdown table on stdout and in bench/out/scale.md
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
BUN="$ROOT/node_modules/.bin/bun"
LUA="$BENCH_DIR/wrk/request.lua"
PG="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
DURATION=8s
command -v wrk >/dev/null || { echo "wrk is not installed. Install it with: apt-get install wrk" >&2; exit 1; }
command -v psql >/dev/null || { echo "psql is not installed. Install it with: apt-get install postgresql-client" >&2; exit 1; }

WORK="$(mktemp -d)"
SCHEMA="bench_$(date +%s)_$$"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q "$PG" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
psql -q "$PG" -c "CREATE SCHEMA $SCHEMA" >/dev/null

# start <name> <port> <database url>: the real entry point, rate limits off (README: for load tests).
# Production wants SMTP_URL; nothing listens on port 9, so the one sign-up's mail fails, logged.
start() {
  mkdir -p "$WORK/$1"
  (cd "$WORK/$1" && exec env PORT="$2" HOST=127.0.0.1 NODE_ENV=production RATE_LIMITS=off SMTP_URL=smtp://127.0.0.1:9 DATABASE_URL="$3" \
    JWT_SECRET=bench-secret-0123456789abcdef0123456789abcdef STATIC_DIR="$WORK/$1/static" DATA_DIR="$WORK/$1/data" \
    taskset -c 0 "$BUN" "$ROOT/src/main.ts" >"$WORK/$1/log" 2>&1) &
  PIDS+=($!)
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$2/healthz" >/dev/null && return; sleep 0.05; done
  echo "$1 did not start" >&2; cat "$WORK/$1/log" >&2; exit 1
}
stop_all() { for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; PIDS=(); }

# token <port>: registers (409 is fine) and logs in the benchmark user; prints the access token.
token() {
  curl -s -o /dev/null -X POST "http://127.0.0.1:$1/register" -H 'Content-Type: application/json' \
    -d '{"name":"Bench","email":"bench@example.com","password":"bench-password-123"}'
  curl -s -X POST "http://127.0.0.1:$1/login" -H 'Content-Type: application/json' \
    -d '{"email":"bench@example.com","password":"bench-password-123"}' | sed -E 's/.*"access_token":"([^"]+)".*/\1/'
}

# load <connections> <url> [KEY=VALUE…]: one wrk run after a 2 s warm-up; prints its BENCH_JSON line.
load() {
  local conns=$1 url=$2; shift 2
  env "$@" taskset -c 1 wrk -t1 -c"$conns" -d2s -s "$LUA" "$url" >/dev/null
  env "$@" taskset -c 1 wrk -t1 -c"$conns" -d"$DURATION" --latency -s "$LUA" "$url" | sed -n 's/^BENCH_JSON //p'
}
field() { sed -E "s/.*\"$1\":([0-9.]+).*/\1/"; }
LOGIN=(WRK_METHOD=POST WRK_CONTENT_TYPE=application/json 'WRK_BODY={"email":"bench@example.com","password":"bench-password-123"}')

ROWS=()
row() { ROWS+=("| $1 | $2 | $3 |"); }

for db in sqlite postgres; do
  url="sqlite://$WORK/sqlite.db"; [ "$db" = postgres ] && url="$PG?search_path=$SCHEMA"
  start "$db" 9301 "$url"
  tok=$(token 9301)
  me=$(load 32 http://127.0.0.1:9301/me "WRK_AUTH=Bearer $tok")
  login=$(load 4 http://127.0.0.1:9301/login "${LOGIN[@]}")
  row "GET /me, one instance, $db (-c32)" "$(echo "$me" | field rps) req/s" "p99 $(echo "$me" | field p99_ms) ms"
  row "POST /login, one instance, $db (-c4)" "p50 $(echo "$login" | field p50_ms) ms" "p99 $(echo "$login" | field p99_ms) ms, $(echo "$login" | field rps)/s"
  stop_all
done

# Two instances on one PostgreSQL, both on core 0 (the same CPU budget as one): one wrk each, -c16 each.
start pg-a 9301 "$PG?search_path=$SCHEMA"
start pg-b 9302 "$PG?search_path=$SCHEMA"
tok=$(token 9301)
load 16 http://127.0.0.1:9301/me "WRK_AUTH=Bearer $tok" >"$WORK/a.json" &
first=$!
load 16 http://127.0.0.1:9302/me "WRK_AUTH=Bearer $tok" >"$WORK/b.json"
wait "$first"
a=$(cat "$WORK/a.json"); b=$(cat "$WORK/b.json")
total=$(echo "$(echo "$a" | field rps) + $(echo "$b" | field rps)" | bc)
row "GET /me, two instances on PostgreSQL, both on core 0 (-c16 each)" "$total req/s together" "p99 $(echo "$a" | field p99_ms) / $(echo "$b" | field p99_ms) ms"
stop_all

{
  echo "| measurement | throughput / p50 | p99 |"
  echo "|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
} | tee "$BENCH_DIR/out/scale.md"
