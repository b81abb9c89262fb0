#!/usr/bin/env bash
# Logins and GET /me against each other, the two bars of issue 10 §4, for one service configuration:
#   bash bench/hash-share.sh [SECONDS] [VAR=value ...]      (default 10 s per window)
# Server on core 0, wrk on core 1 (as bench/run.sh). Four windows: GET /me -c8 alone; GET /me -c8
# during a POST /login flood -c16; POST /login -c4 alone; POST /login -c4 during a GET /me flood -c32.
# Prints one JSON line per window and the two ratios; RATE_LIMITS=off so every login reaches argon2id.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
BUN="$ROOT/node_modules/.bin/bun"
LUA="$BENCH_DIR/wrk/request.lua"
SECS="${1:-10}"
[[ "$SECS" =~ ^[0-9]+$ ]] && shift || SECS=10
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
DIR="$(mktemp -d "${TMPDIR:-/tmp}/hash-share.XXXXXX")"
PORT="$(taskset -c 1 "$BUN" "$BENCH_DIR/client.ts" port)"
URL="http://127.0.0.1:$PORT"
(cd "$DIR" && exec env -i PATH="$PATH" HOME="$HOME" PORT="$PORT" HOST=127.0.0.1 DATABASE_URL="sqlite://$DIR/app.db" \
  STATIC_DIR="$DIR/static" DATA_DIR="$DIR/data" JWT_SECRET="$(head -c 48 /dev/urandom | base64 | tr -d '\n')" \
  RATE_LIMITS=off ACCESS_LOG=off "$@" taskset -c 0 "$BUN" "$ROOT/src/main.ts") >"$DIR/out.log" 2>&1 &
SVC=$!
trap 'kill -TERM $SVC 2>/dev/null; wait $SVC 2>/dev/null; rm -rf "$DIR"' EXIT
taskset -c 1 "$BUN" "$BENCH_DIR/client.ts" wait "$URL"
TOKEN="$(taskset -c 1 "$BUN" "$BENCH_DIR/client.ts" token "$URL" bench@example.com bench-password-123)"
LOGIN=(WRK_METHOD=POST 'WRK_BODY={"email":"bench@example.com","password":"bench-password-123"}' WRK_CONTENT_TYPE=application/json)
ME=("WRK_AUTH=Bearer $TOKEN")
w() { # w <conns> <path> VAR=... : one wrk window, prints its BENCH_JSON
  local c="$1" p="$2"; shift 2
  env "$@" taskset -c 1 wrk -t1 -c"$c" -d"${SECS}s" --timeout 10s --latency -s "$LUA" "$URL$p" | sed -n 's/^BENCH_JSON //p'
}
p99() { sed 's/.*"p99_ms":\([0-9.]*\).*/\1/' <<<"$1"; }
echo "config: ${*:-default} load: $(cut -d' ' -f1-3 /proc/loadavg)"
w 8 /me "${ME[@]}" >/dev/null  # warm-up
me_alone="$(w 8 /me "${ME[@]}")"; echo "me -c8 alone:           $me_alone"
w 16 /login "${LOGIN[@]}" >"$DIR/flood.json" &
me_flood="$(w 8 /me "${ME[@]}")"; wait $!; echo "me -c8 in login flood:  $me_flood"; echo "login flood -c16:       $(cat "$DIR/flood.json")"
login_alone="$(w 4 /login "${LOGIN[@]}")"; echo "login -c4 alone:        $login_alone"
w 32 /me "${ME[@]}" >"$DIR/meflood.json" &
login_flood="$(w 4 /login "${LOGIN[@]}")"; wait $!; echo "login -c4 in me flood:  $login_flood"; echo "me flood -c32:          $(cat "$DIR/meflood.json")"
awk -v a="$(p99 "$me_alone")" -v b="$(p99 "$me_flood")" -v l="$(p99 "$login_flood")" 'BEGIN {
  printf "RESULT GET /me p99 %.2f -> %.2f ms = %.2fx (bar <= 3x); login p99 in GET /me flood %.0f ms (bar <= 1000)\n", a, b, b / a, l }'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
