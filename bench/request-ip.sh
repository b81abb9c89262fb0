#!/usr/bin/env bash
# What asking Bun for the client's address costs per request, alone: two bare Bun.serve side by side on
# one core, identical but for `server.requestIP(req)` on every request in one (what the access log's `ip`
# needs), one wrk each on the other core at the same time. Bun asks the kernel (getpeername) each time;
# nothing is kept per connection.
#   bash bench/request-ip.sh [ROUNDS=5]   env: DURATION=4s
# Prints each round's CPU time per request of both and the difference, then the medians.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$BENCH_DIR/services.sh"
ROUNDS="${1:-5}"
DURATION="${DURATION:-4s}"
need wrk

start_bare() { # <port> <REQUEST_IP>: sets BARE_PID
  (PORT=$1 REQUEST_IP=$2 exec taskset -c 0 "$BUN" "$BENCH_DIR/baseline.ts" >/dev/null) &
  PIDS+=($!)
  BARE_PID=$!
  wait_up "$1"
}
start_bare 9321 0; PLAIN=$BARE_PID
start_bare 9322 1; ASKING=$BARE_PID
# both <seconds> <out prefix>: both loads at once; each wrk's request count in <prefix>.<port>
both() {
  local w
  (taskset -c 1 wrk -t1 -c32 -d"$1" -s "$LUA" http://127.0.0.1:9321/me | sed -n 's/^BENCH_JSON //p' | field requests >"$2.9321") & w=$!
  taskset -c 1 wrk -t1 -c32 -d"$1" -s "$LUA" http://127.0.0.1:9322/me | sed -n 's/^BENCH_JSON //p' | field requests >"$2.9322"
  wait "$w"
}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
plain_all=""; asking_all=""; diff_all=""
for round in $(seq 1 "$ROUNDS"); do
  both 1s "$WORK/warm"
  p0=$(ticks "$PLAIN"); a0=$(ticks "$ASKING")
  both "$DURATION" "$WORK/run"
  p1=$(ticks "$PLAIN"); a1=$(ticks "$ASKING")
  p=$(cpu_us "$p0" "$p1" "$(cat "$WORK/run.9321")" 2); a=$(cpu_us "$a0" "$a1" "$(cat "$WORK/run.9322")" 2)
  d=$(echo "$a - $p" | bc)
  echo "round $round: bare $p µs | bare + requestIP $a µs per request; the address costs $d µs"
  plain_all+="$p "; asking_all+="$a "; diff_all+="$d "
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
echo "medians: bare $(echo "$plain_all" | median) µs, bare + requestIP $(echo "$asking_all" | median) µs, difference $(echo "$diff_all" | median) µs"
