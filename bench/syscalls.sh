#!/usr/bin/env bash
# System calls per request, counted by the kernel's tracepoints (perf stat), for the bare Bun.serve and
# for GET /me on SQLite: with the access log as shipped, with its address from X-Forwarded-For
# (TRUST_PROXY=1), and with ACCESS_LOG=false. Counts do not drift with the machine's load as CPU time
# does, so they say which calls a request makes; bench/cache.sh says what they cost.
#   bash bench/syscalls.sh     env: DURATION=3s
# Needs wrk and perf (Debian: apt-get install wrk linux-perf); perf must be allowed to trace (root here).
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$BENCH_DIR/services.sh"
DURATION="${DURATION:-3s}"
need wrk perf
EVENTS=$(perf list 2>/dev/null | grep -o 'syscalls:sys_enter_[a-z0-9_]*' | sort -u | paste -sd, -)
[ -n "$EVENTS" ] || { echo "perf lists no syscall tracepoints here" >&2; exit 1; }

# count <label> <pid> <port> <auth> [X-Forwarded-For]: one loaded run, traced; prints the label and the
# calls per request that reach 0.01, most frequent first.
count() {
  local label=$1 pid=$2 port=$3 auth=$4 tracer requests
  export WRK_FORWARDED_FOR="${5:-}"
  WRK_AUTH="$auth" taskset -c 1 wrk -t1 -c32 -d1s -s "$LUA" "http://127.0.0.1:$port/me" >/dev/null
  perf stat -x, -e "$EVENTS" -p "$pid" 2>"$WORK/perf.csv" & tracer=$!
  sleep 0.5 # perf attaches to each tracepoint before it counts
  requests=$(WRK_AUTH="$auth" taskset -c 1 wrk -t1 -c32 -d"$DURATION" -s "$LUA" "http://127.0.0.1:$port/me" | sed -n 's/^BENCH_JSON //p' | field requests)
  kill -INT "$tracer"; wait "$tracer" || true
  echo "$label ($requests requests):"
  awk -F, -v n="$requests" '$1 + 0 > 0 && $1 / n >= 0.01 { sub("syscalls:sys_enter_", "", $3); printf "  %-14s %6.2f\n", $3, $1 / n }' "$WORK/perf.csv" | sort -k2 -nr
}

start_baseline 0
count "bare Bun.serve" "$BARE_PID" 9300 "Bearer x"
url="sqlite://$WORK/sqlite.db"
for mode in shipped proxy nolog; do
  case $mode in
    shipped) extra=(); forwarded="" ;;
    proxy) extra=(TRUST_PROXY=1); forwarded=$FORWARDED_FOR ;;
    nolog) extra=(ACCESS_LOG=false); forwarded="" ;;
  esac
  start_service "$mode" "$ROOT" 9301 "$url" 0 "${extra[@]}"
  tok=$(token 9301)
  count "GET /me, SQLite, ${extra[*]:-as shipped}" "$SERVER_PID" 9301 "Bearer $tok" "$forwarded"
  kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true
done
