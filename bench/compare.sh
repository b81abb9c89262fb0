#!/usr/bin/env bash
# GET /me of two revisions side by side with a bare Bun.serve: all three servers on one core at the same
# moment, one wrk each on the other, so a neighbour's load weighs on all alike. For "did this change help?".
#   bash bench/compare.sh <git revision> [ROUNDS=3]   env: DURATION=4s, ENV_OLD / ENV_NEW (extra KEY=VALUE for each)
# Prints, per round, each server's CPU time per request and the ratios bare/old and bare/new.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
BUN="$ROOT/node_modules/.bin/bun"
LUA="$BENCH_DIR/wrk/request.lua"
REV="${1:?usage: bash bench/compare.sh <git revision> [rounds]}"
ROUNDS="${2:-3}"
DURATION="${DURATION:-4s}"
SC="${SERVER_CORE:-0}"
CC="${CLIENT_CORE:-1}"
command -v wrk >/dev/null || { echo "wrk is not installed. Install it with: apt-get install wrk" >&2; exit 1; }

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 0.5
  git -C "$ROOT" worktree remove --force "$WORK/old-tree" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
git -C "$ROOT" worktree add --detach "$WORK/old-tree" "$REV" >/dev/null 2>&1
ln -s "$ROOT/node_modules" "$WORK/old-tree/node_modules"

up() { for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$1/healthz" >/dev/null && return; sleep 0.05; done; echo "port $1 did not start" >&2; exit 1; }
# start <name> <tree> <port> [KEY=VALUE…]: the real entry point on SQLite, rate limits off, access log on (default).
start() {
  local name=$1 tree=$2 port=$3; shift 3
  mkdir -p "$WORK/$name"
  (cd "$WORK/$name" && exec env "$@" PORT="$port" HOST=127.0.0.1 NODE_ENV=production RATE_LIMITS=off SMTP_URL=smtp://127.0.0.1:9 \
    DATABASE_URL="sqlite://$WORK/$name/db.sqlite" JWT_SECRET=bench-secret-0123456789abcdef0123456789abcdef \
    STATIC_DIR="$WORK/$name/static" DATA_DIR="$WORK/$name/data" taskset -c "$SC" "$BUN" "$tree/src/main.ts" >"$WORK/$name/log" 2>&1) &
  PIDS+=($!)
  up "$port"
}
token() {
  curl -s -o /dev/null -X POST "http://127.0.0.1:$1/register" -H 'Content-Type: application/json' \
    -d '{"name":"Bench","email":"bench@example.com","password":"bench-password-123"}'
  curl -s -X POST "http://127.0.0.1:$1/login" -H 'Content-Type: application/json' \
    -d '{"email":"bench@example.com","password":"bench-password-123"}' | sed -E 's/.*"access_token":"([^"]+)".*/\1/'
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# wrk_all <seconds> <out prefix>: the three loads at once, each wrk's request count in <prefix>.<port>
wrk_all() {
  local waits=() port auth
  for port in 9300 9311 9312; do
    auth="Bearer x"; [ "$port" = 9311 ] && auth="Bearer $OLD_TOKEN"; [ "$port" = 9312 ] && auth="Bearer $NEW_TOKEN"
    (WRK_AUTH="$auth" taskset -c "$CC" wrk -t1 -c32 -d"$1" -s "$LUA" "http://127.0.0.1:$port/me" \
      | sed -n 's/^BENCH_JSON .*"requests":\([0-9]*\).*/\1/p' >"$2.$port") &
    waits+=($!)
  done
  wait "${waits[@]}"
}

read -r -a env_old <<<"${ENV_OLD:-}"
read -r -a env_new <<<"${ENV_NEW:-}"
start old "$WORK/old-tree" 9311 "${env_old[@]}"; OLD_PID=${PIDS[-1]}; OLD_TOKEN=$(token 9311)
start new "$ROOT" 9312 "${env_new[@]}"; NEW_PID=${PIDS[-1]}; NEW_TOKEN=$(token 9312)
(PORT=9300 exec taskset -c "$SC" "$BUN" "$BENCH_DIR/baseline.ts" >/dev/null 2>&1) & PIDS+=($!); BARE_PID=$!
up 9300
echo "old: $(git -C "$ROOT" rev-parse --short "$REV"); new: the working tree of $ROOT; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
per() { echo "scale=1; ($2 - $1) * 1000000 / $(getconf CLK_TCK) / $3" | bc; }
for round in $(seq 1 "$ROUNDS"); do
  wrk_all 1s "$WORK/warm"
  b0=$(ticks $BARE_PID); o0=$(ticks $OLD_PID); n0=$(ticks $NEW_PID)
  wrk_all "$DURATION" "$WORK/run"
  b1=$(ticks $BARE_PID); o1=$(ticks $OLD_PID); n1=$(ticks $NEW_PID)
  b=$(per "$b0" "$b1" "$(cat "$WORK/run.9300")"); o=$(per "$o0" "$o1" "$(cat "$WORK/run.9311")"); n=$(per "$n0" "$n1" "$(cat "$WORK/run.9312")")
  echo "round $round: bare $b µs | old $o µs | new $n µs per request; ratio bare/old $(echo "scale=3; $b / $o" | bc), bare/new $(echo "scale=3; $b / $n" | bc)"
done
