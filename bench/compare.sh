#!/usr/bin/env bash
# GET /me of two revisions side by side with a bare Bun.serve: all three servers on one core at the same
# moment, one wrk each on the other, so a neighbour's load weighs on all alike. For "did this change help?".
#   bash bench/compare.sh <git revision> [ROUNDS=3]   env: DURATION=4s, ENV_OLD / ENV_NEW (extra KEY=VALUE for each),
#   COMPARE_DB=postgres (each revision in a schema of its own on BENCH_POSTGRES_URL; default SQLite)
# Prints, per round, each server's CPU time per request and the ratios bare/old and bare/new.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$BENCH_DIR/services.sh"
REV="${1:?usage: bash bench/compare.sh <git revision> [rounds]}"
ROUNDS="${2:-3}"
DURATION="${DURATION:-4s}"
SC="${SERVER_CORE:-0}"
CC="${CLIENT_CORE:-1}"
need wrk

cleanup() {
  git -C "$ROOT" worktree remove --force "$WORK/old-tree" >/dev/null 2>&1 || true
  bench_cleanup
}
trap cleanup EXIT
git -C "$ROOT" worktree add --detach "$WORK/old-tree" "$REV" >/dev/null 2>&1
ln -s "$ROOT/node_modules" "$WORK/old-tree/node_modules"

# wrk_all <seconds> <out prefix>: the three loads at once, each wrk's request count in <prefix>.<port>
wrk_all() {
  local waits=() port auth
  for port in 9300 9311 9312; do
    auth="Bearer x"; [ "$port" = 9311 ] && auth="Bearer $OLD_TOKEN"; [ "$port" = 9312 ] && auth="Bearer $NEW_TOKEN"
    (WRK_AUTH="$auth" taskset -c "$CC" wrk -t1 -c32 -d"$1" -s "$LUA" "http://127.0.0.1:$port/me" \
      | sed -n 's/^BENCH_JSON //p' | field requests >"$2.$port") &
    waits+=($!)
  done
  wait "${waits[@]}"
}

read -r -a env_old <<<"${ENV_OLD:-}"
read -r -a env_new <<<"${ENV_NEW:-}"
# Each revision with a database of its own: a SQLite file, or a PostgreSQL schema.
if [ "${COMPARE_DB:-sqlite}" = postgres ]; then
  need psql
  pg_schema compare_old; OLD_URL="$PG?search_path=$SCHEMA"
  pg_schema compare_new; NEW_URL="$PG?search_path=$SCHEMA"
else
  OLD_URL="sqlite://$WORK/old.sqlite"; NEW_URL="sqlite://$WORK/new.sqlite"
fi
start_service old "$WORK/old-tree" 9311 "$OLD_URL" "$SC" "${env_old[@]}"; OLD_PID=$SERVER_PID; OLD_TOKEN=$(token 9311)
start_service new "$ROOT" 9312 "$NEW_URL" "$SC" "${env_new[@]}"; NEW_PID=$SERVER_PID; NEW_TOKEN=$(token 9312)
start_baseline "$SC"
echo "old: $(git -C "$ROOT" rev-parse --short "$REV"); new: the working tree of $ROOT; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$ROUNDS"); do
  wrk_all 1s "$WORK/warm"
  b0=$(ticks $BARE_PID); o0=$(ticks $OLD_PID); n0=$(ticks $NEW_PID)
  wrk_all "$DURATION" "$WORK/run"
  b1=$(ticks $BARE_PID); o1=$(ticks $OLD_PID); n1=$(ticks $NEW_PID)
  b=$(cpu_us "$b0" "$b1" "$(cat "$WORK/run.9300")"); o=$(cpu_us "$o0" "$o1" "$(cat "$WORK/run.9311")"); n=$(cpu_us "$n0" "$n1" "$(cat "$WORK/run.9312")")
  echo "round $round: bare $b µs | old $o µs | new $n µs per request; ratio bare/old $(echo "scale=3; $b / $o" | bc), bare/new $(echo "scale=3; $b / $n" | bc)"
done
