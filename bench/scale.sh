#!/usr/bin/env bash
# Scale-out figures, in one run: GET /me and POST /login on SQLite beside PostgreSQL, and two
# instances (on one PostgreSQL) beside one. Servers on core 0, wrk on core 1, 127.0.0.1 only, every
# load bounded in time. Needs PostgreSQL (BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test).
#   bash bench/scale.sh            → markdown table on stdout and in bench/out/scale.md
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$BENCH_DIR/services.sh"
DURATION=8s
need wrk psql
pg_schema bench


# load <connections> <url> [KEY=VALUE…]: one wrk run after a 2 s warm-up; prints its BENCH_JSON line.
load() {
  local conns=$1 url=$2; shift 2
  env "$@" taskset -c 1 wrk -t1 -c"$conns" -d2s -s "$LUA" "$url" >/dev/null
  env "$@" taskset -c 1 wrk -t1 -c"$conns" -d"$DURATION" --latency -s "$LUA" "$url" | sed -n 's/^BENCH_JSON //p'
}
LOGIN=(WRK_METHOD=POST WRK_CONTENT_TYPE=application/json 'WRK_BODY={"email":"bench@example.com","password":"bench-password-123"}')

ROWS=()
row() { ROWS+=("| $1 | $2 | $3 |"); }

for db in sqlite postgres; do
  url="sqlite://$WORK/sqlite.db"; [ "$db" = postgres ] && url="$PG?search_path=$SCHEMA"
  start_service "$db" "$ROOT" 9301 "$url" 0
  tok=$(token 9301)
  me=$(load 32 http://127.0.0.1:9301/me "WRK_AUTH=Bearer $tok")
  login=$(load 4 http://127.0.0.1:9301/login "${LOGIN[@]}")
  row "GET /me, one instance, $db (-c32)" "$(echo "$me" | field rps) req/s" "p99 $(echo "$me" | field p99_ms) ms"
  row "POST /login, one instance, $db (-c4)" "p50 $(echo "$login" | field p50_ms) ms" "p99 $(echo "$login" | field p99_ms) ms, $(echo "$login" | field rps)/s"
  stop_all
done

# Two instances on one PostgreSQL, both on core 0 (the same CPU budget as one): one wrk each, -c16 each.
start_service pg-a "$ROOT" 9301 "$PG?search_path=$SCHEMA" 0
start_service pg-b "$ROOT" 9302 "$PG?search_path=$SCHEMA" 0
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
