#!/usr/bin/env bash
# Load benchmark for the profile service against a bare Bun.serve baseline.
#
#   bash bench/run.sh [--runs N] [--wait-idle]
#
#   --runs N     run the whole suite N times (default 1) against the same snapshot of src/; the
#                report gives the median of the runs and every run beside it
#   --wait-idle  before each run, wait (polling every 20 s, at most 10 min) until no `bun test` runs
#                and other processes use less than 10% of a core
#
# Servers are pinned to core 0 (taskset -c 0), every load generator (wrk, the Bun clients) to
# core 1. All traffic goes to 127.0.0.1 and every load run is bounded in time. Raw numbers land in
# bench/out/runs/<utc-time>/ and the markdown report in bench/out/latest.md (and on stdout).
# src/ is copied to a temp dir at the start and every service instance runs from that copy, so an
# invocation measures one version of the code even while others edit src/; its fingerprint is reported.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
BUN="$ROOT/node_modules/.bin/bun"
OUT="$BENCH_DIR/out"
LUA="$BENCH_DIR/wrk/request.lua"

SERVER_CPUS=0       # every server process (baseline and service) and all of its threads
CLIENT_CPU=1        # wrk and the Bun clients
WARMUP=2s           # before every measured wrk run: same connections, same server
DURATION=10s        # every measured wrk run
ME_CONNS=32         # GET /me throughput, baseline and service alike
LOGIN_CONNS=4       # POST /login latency
FLOOD_CONNS=16      # POST /login flood
FLOOD_ME_CONNS=8    # GET /me measured alone and during the flood (bench/RESULTS.md explains the choice)
UPLOAD_PARALLEL=16
UPLOAD_ROUNDS=3
COLD_RUNS=7
ME_EMAIL="bench-me@example.com"
ME_PASSWORD="bench-password-123"

RUNS=1
WAIT_IDLE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="${2:-}"; shift 2 ;;
    --runs=*) RUNS="${1#--runs=}"; shift ;;
    --wait-idle) WAIT_IDLE=1; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (try --help)" >&2; exit 2 ;;
  esac
done
[[ "$RUNS" =~ ^[1-9][0-9]?$ ]] || { echo "--runs needs a number from 1 to 99" >&2; exit 2; }

# ---------------------------------------------------------------------------------------------
# Prerequisites: say what is missing, install nothing.
# ---------------------------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
  echo "wrk is not installed. Install it with: apt-get install wrk" >&2
  exit 1
fi
if ! command -v taskset >/dev/null 2>&1; then
  echo "taskset is not installed. Install it with: apt-get install util-linux" >&2
  exit 1
fi
if [ ! -x "$BUN" ]; then
  echo "bun not found at $BUN. Run: npm install (in $ROOT)" >&2
  exit 1
fi
if [ "$(nproc --all)" -lt 2 ]; then
  echo "this benchmark needs at least 2 CPUs (server on core 0, load generator on core 1)" >&2
  exit 1
fi

bun_tests() { ps -eo args= | grep -c '[b]un test' || true; }

log() { printf '\n== %s\n' "$*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }


WORK="$(mktemp -d "${TMPDIR:-/tmp}/profile-bench.XXXXXX")"
PIDS=()

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Noise accounting. Every measured window records, in % of one core: CPU used by user processes
# outside this benchmark (anything not in our process group: other people's test runs, builds,
# daemons; an exited process counts once its parent reaps it), CPU of kernel threads (ksoftirqd and
# kworkers, partly our own loopback traffic), and the hypervisor's steal time.
MY_PGID="$(ps -o pgid= $$ | tr -d ' ')"
SVC_PID=""
CLK_TCK="$(getconf CLK_TCK)"
# Also recorded: how busy core 0 and core 1 were, and the CPU of the server process under test.
cpu_mark() {
  local ticks steal cores server=0
  # After the "(comm) " field: $2 ppid, $3 pgrp, $12..$15 utime stime cutime cstime.
  ticks="$(cat /proc/[0-9]*/stat 2>/dev/null | awk -v pg="$MY_PGID" '{
    sub(/^.*\) /, ""); t = $12 + $13 + $14 + $15
    if ($2 == 2 || $3 == 0) k += t; else if ($3 != pg) f += t
  } END {print f + 0, k + 0}')"
  steal="$(awk '$1 == "cpu" {print $9}' /proc/stat)"
  # busy ticks of cpu0 and cpu1: everything but idle and iowait
  cores="$(awk '$1 == "cpu0" || $1 == "cpu1" {b = 0; for (i = 2; i <= 9; i++) if (i != 5 && i != 6) b += $i; printf "%d ", b}' /proc/stat)"
  if [ -n "$SVC_PID" ] && [ -r "/proc/$SVC_PID/stat" ]; then
    server="$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$SVC_PID/stat" 2>/dev/null || echo 0)"
  fi
  echo "$ticks $steal $(date +%s.%N) $cores $server"
}
# cpu_since <mark> <out.json>
cpu_since() {
  local now
  now="$(cpu_mark)"
  awk -v a="$1" -v b="$now" -v hz="$CLK_TCK" 'BEGIN {
    split(a, x, " "); split(b, y, " "); secs = y[4] - x[4]; if (secs <= 0) secs = 1
    pct = hz * secs / 100
    printf "{\"seconds\":%.2f,\"foreign_cpu_pct\":%.1f,\"kernel_threads_pct\":%.1f,\"steal_pct\":%.1f,", secs,
      (y[1] - x[1]) / pct, (y[2] - x[2]) / pct, (y[3] - x[3]) / pct
    printf "\"cpu0_busy_pct\":%.1f,\"cpu1_busy_pct\":%.1f,\"server_cpu_pct\":%.1f}\n",
      (y[5] - x[5]) / pct, (y[6] - x[6]) / pct, (y[7] >= x[7] ? (y[7] - x[7]) / pct : 0)
  }' >"$2"
}
foreign_pct_over() {  # foreign_pct_over <seconds>: foreign user-process CPU over a short sample
  local mark
  mark="$(cpu_mark)"; sleep "$1"
  cpu_since "$mark" /dev/stdout | sed 's/.*"foreign_cpu_pct":\([0-9.]*\).*/\1/'
}

on_client() { taskset -c "$CLIENT_CPU" "$@"; }

# wait_idle: no `bun test` running and other processes using < 10% of a core over 5 s; polls every
# 20 s for at most 10 minutes. Writes what it saw to $IDLE_NOTE.
IDLE_NOTE="not checked (run without --wait-idle)"
wait_idle() {
  local tests foreign waited=0
  for _ in $(seq 1 30); do
    tests="$(bun_tests)"
    foreign="$(foreign_pct_over 5)"
    if [ "$tests" -eq 0 ] && awk -v f="$foreign" 'BEGIN {exit !(f < 10)}'; then
      IDLE_NOTE="idle after waiting ${waited} s: no bun test, other processes at ${foreign}% of a core over 5 s"
      return 0
    fi
    echo "waiting: $tests 'bun test' process(es), other processes at ${foreign}% of a core (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    sleep 15
    waited=$((waited + 20))
  done
  IDLE_NOTE="NOT idle after 10 min of waiting ($tests bun test, other processes at ${foreign}% of a core); measured anyway"
  echo "warning: $IDLE_NOTE" >&2
}
[ "$WAIT_IDLE" = 1 ] && wait_idle

# The code under test: a snapshot of src/ (plus the files Bun reads next to it).
src_fingerprint() {
  (cd "$1" && find src -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)
}
SNAP="$WORK/snapshot"
mkdir -p "$SNAP"
cp -Rp "$ROOT/src" "$SNAP/src"
cp "$ROOT/package.json" "$ROOT/tsconfig.json" "$SNAP/"
SERVICE_MAIN="$SNAP/src/main.ts"
SRC_FP="$(src_fingerprint "$SNAP")"
SRC_NEWEST="$(cd "$SNAP" && find src -type f -printf '%TY-%Tm-%Td %TH:%TM:%.2TS UTC %p\n' | sort | tail -1)"


client() { on_client "$BUN" "$BENCH_DIR/client.ts" "$@"; }

# ---------------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------------
SVC_PID=""
SVC_URL=""
SVC_DIR=""

# start_baseline <name>
start_baseline() {
  local name="$1" port
  SVC_DIR="$(mktemp -d "$WORK/$name.XXXXXX")"  # fresh every time, also across --runs
  port="$(client port)"
  SVC_URL="http://127.0.0.1:$port"
  env -i PATH="$PATH" HOME="$HOME" PORT="$port" HOST=127.0.0.1 \
    taskset -c "$SERVER_CPUS" "$BUN" "$BENCH_DIR/baseline.ts" >"$SVC_DIR/stdout.log" 2>"$SVC_DIR/stderr.log" &
  SVC_PID=$!
  PIDS+=("$SVC_PID")
  client wait "$SVC_URL" || { tail -20 "$SVC_DIR/stderr.log" >&2; die "baseline did not start"; }
}

# start_service <name> <cpus> [VAR=value ...]: the real entry point in a fresh temp dir, clean env,
# stdout (the access log) to a file. Only the listed variables are set; ACCESS_LOG stays default.
start_service() {
  local name="$1" cpus="$2" port secret
  shift 2
  SVC_DIR="$(mktemp -d "$WORK/$name.XXXXXX")"  # fresh every time, also across --runs
  port="$(client port)"
  SVC_URL="http://127.0.0.1:$port"
  secret="$(head -c 48 /dev/urandom | base64 | tr -d '\n')"
  (
    cd "$SVC_DIR"
    exec env -i PATH="$PATH" HOME="$HOME" \
      PORT="$port" HOST=127.0.0.1 \
      DATABASE_URL="sqlite://$SVC_DIR/app.db" STATIC_DIR="$SVC_DIR/static" DATA_DIR="$SVC_DIR/data" \
      JWT_SECRET="$secret" "$@" \
      taskset -c "$cpus" "$BUN" "$SERVICE_MAIN"
  ) >"$SVC_DIR/stdout.log" 2>"$SVC_DIR/stderr.log" &
  SVC_PID=$!
  PIDS+=("$SVC_PID")
  client wait "$SVC_URL" || { tail -20 "$SVC_DIR/stderr.log" >&2; die "service $name did not start"; }
  # The process we measure must be the Bun server itself (env and taskset exec into it).
  grep -q '^Name:.*bun' "/proc/$SVC_PID/status" || die "pid $SVC_PID is not the bun process"
}

stop_server() {
  local pid="$SVC_PID" i
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$SVC_DIR"  # database, pictures and access log of this instance
}

status_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# ---------------------------------------------------------------------------------------------
# wrk: wrk_run <name> <connections> <duration> <url> [VAR=value ...] (VARs feed bench/wrk/request.lua)
# Output: $RAW/<name>.txt (wrk's own report) and $RAW/<name>.json (the numbers).
# ---------------------------------------------------------------------------------------------
wrk_cmd() {
  local conns="$1" duration="$2" url="$3" secs
  shift 3
  secs="${duration%s}"
  env "$@" timeout --signal=KILL "$((secs + 30))" \
    taskset -c "$CLIENT_CPU" wrk -t1 -c"$conns" -d"$duration" --timeout 10s --latency -s "$LUA" "$url"
}

extract_json() {
  grep '^BENCH_JSON ' "$1.txt" | sed 's/^BENCH_JSON //' >"$1.json"
  [ -s "$1.json" ] || die "no numbers in $1.txt"
}

wrk_run() {
  local name="$1" mark
  shift
  mark="$(cpu_mark)"
  wrk_cmd "$@" >"$RAW/$name.txt" 2>&1 || die "wrk failed for $name: $(tail -5 "$RAW/$name.txt")"
  cpu_since "$mark" "$RAW/$name.cpu.json"
  extract_json "$RAW/$name"
  echo "  $name: $(cat "$RAW/$name.json") noise: $(cat "$RAW/$name.cpu.json")" >&2
}

me_auth() { echo "WRK_AUTH=Bearer $1"; }
LOGIN_BODY="{\"email\":\"$ME_EMAIL\",\"password\":\"$ME_PASSWORD\"}"
LOGIN_VARS=(WRK_METHOD=POST "WRK_BODY=$LOGIN_BODY" WRK_CONTENT_TYPE=application/json)

# ---------------------------------------------------------------------------------------------
# 3 + 4. Login latency, then GET /me alone and during a login flood, for one server placement.
# flood_suite <label> <server-cpus> <login-test: yes|no> [VAR=value ...]  (VARs go to the service)
# ---------------------------------------------------------------------------------------------
flood_suite() {
  local label="$1" cpus="$2" login_test="$3" flood_pid me_rc flood_rc token mark
  shift 3
  start_service "flood-$label" "$cpus" "$@"
  echo "availableParallelism under taskset -c $cpus: $(taskset -c "$cpus" "$BUN" -e 'console.log(require("os").availableParallelism())')" \
    >"$RAW/$label.parallelism"
  echo "${*:-default configuration}" >"$RAW/$label.env"
  token="$(client token "$SVC_URL" "$ME_EMAIL" "$ME_PASSWORD")"
  client check "$SVC_URL" "$token"

  if [ "$login_test" = yes ]; then
    log "3. [$label] POST /login, -c$LOGIN_CONNS"
    wrk_run "warmup-login-$label" "$LOGIN_CONNS" "$WARMUP" "$SVC_URL/login" "${LOGIN_VARS[@]}" >/dev/null
    wrk_run "login-$label" "$LOGIN_CONNS" "$DURATION" "$SVC_URL/login" "${LOGIN_VARS[@]}"
  fi

  log "4. [$label] GET /me -c$FLOOD_ME_CONNS alone, then during a POST /login flood -c$FLOOD_CONNS"
  wrk_run "warmup-me8-$label" "$FLOOD_ME_CONNS" "$WARMUP" "$SVC_URL/me" "$(me_auth "$token")" >/dev/null
  wrk_run "me8-alone-$label" "$FLOOD_ME_CONNS" "$DURATION" "$SVC_URL/me" "$(me_auth "$token")"
  # Both wrk processes start together, same duration, both on the client core.
  mark="$(cpu_mark)"
  wrk_cmd "$FLOOD_CONNS" "$DURATION" "$SVC_URL/login" "${LOGIN_VARS[@]}" >"$RAW/flood-$label.txt" 2>&1 &
  flood_pid=$!
  PIDS+=("$flood_pid")
  me_rc=0
  wrk_cmd "$FLOOD_ME_CONNS" "$DURATION" "$SVC_URL/me" "$(me_auth "$token")" >"$RAW/me8-flood-$label.txt" 2>&1 || me_rc=$?
  flood_rc=0
  wait "$flood_pid" || flood_rc=$?
  cpu_since "$mark" "$RAW/me8-flood-$label.cpu.json"
  [ "$me_rc" = 0 ] || die "wrk GET /me during the flood failed: $(tail -5 "$RAW/me8-flood-$label.txt")"
  [ "$flood_rc" = 0 ] || die "wrk login flood failed: $(tail -5 "$RAW/flood-$label.txt")"
  extract_json "$RAW/me8-flood-$label"
  extract_json "$RAW/flood-$label"
  echo "  me8-flood-$label: $(cat "$RAW/me8-flood-$label.json")" >&2
  echo "  flood-$label: $(cat "$RAW/flood-$label.json")" >&2

  if [ "$login_test" = yes ]; then
    # The other way round (issue 10 §4): logins at -c$LOGIN_CONNS while GET /me floods at -c$ME_CONNS.
    log "4'. [$label] POST /login -c$LOGIN_CONNS during a GET /me flood -c$ME_CONNS"
    mark="$(cpu_mark)"
    wrk_cmd "$ME_CONNS" "$DURATION" "$SVC_URL/me" "$(me_auth "$token")" >"$RAW/meflood-$label.txt" 2>&1 &
    flood_pid=$!
    PIDS+=("$flood_pid")
    me_rc=0
    wrk_cmd "$LOGIN_CONNS" "$DURATION" "$SVC_URL/login" "${LOGIN_VARS[@]}" >"$RAW/login-meflood-$label.txt" 2>&1 || me_rc=$?
    flood_rc=0
    wait "$flood_pid" || flood_rc=$?
    cpu_since "$mark" "$RAW/login-meflood-$label.cpu.json"
    [ "$me_rc" = 0 ] || die "wrk login during the GET /me flood failed: $(tail -5 "$RAW/login-meflood-$label.txt")"
    [ "$flood_rc" = 0 ] || die "wrk GET /me flood failed: $(tail -5 "$RAW/meflood-$label.txt")"
    extract_json "$RAW/login-meflood-$label"
    extract_json "$RAW/meflood-$label"
    echo "  login-meflood-$label: $(cat "$RAW/login-meflood-$label.json")" >&2
    echo "  meflood-$label: $(cat "$RAW/meflood-$label.json")" >&2
  fi
  stop_server
}

# ---------------------------------------------------------------------------------------------
# One full run of every measurement into $RAW
# ---------------------------------------------------------------------------------------------
run_suite() {
  local token log_before mark

  {
    echo "run_id: $(basename "$RAW")"
    echo "date_utc: $(date -u '+%Y-%m-%d %H:%M:%S')"
    echo "nproc: $(nproc --all)"
    echo "cpu_model: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "mem_total: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "kernel: $(uname -sr)"
    echo "bun: $("$BUN" --version)"
    echo "wrk: $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
    echo "src_fingerprint: $SRC_FP"
    echo "src_newest_file: $SRC_NEWEST"
    echo "idle_check: $IDLE_NOTE"
    echo "bun_test_procs_start: $(bun_tests)"
    echo "loadavg_start: $(cut -d' ' -f1-3 /proc/loadavg)"
  } >"$RAW/meta.txt"
  cat "$RAW/meta.txt" >&2

  # 1 + 2. GET /me throughput: baseline, service (ACCESS_LOG default = on), service (off), baseline
  log "1. baseline: bare Bun.serve GET /me (run before the service)"
  start_baseline baseline1
  wrk_run warmup-baseline1 "$ME_CONNS" "$WARMUP" "$SVC_URL/me" >/dev/null
  wrk_run baseline1 "$ME_CONNS" "$DURATION" "$SVC_URL/me"
  stop_server

  log "2a. service GET /me, ACCESS_LOG default (on)"
  start_service me-log "$SERVER_CPUS"
  token="$(client token "$SVC_URL" "$ME_EMAIL" "$ME_PASSWORD")"
  client check "$SVC_URL" "$token"
  wrk_run warmup-me-log "$ME_CONNS" "$WARMUP" "$SVC_URL/me" "$(me_auth "$token")" >/dev/null
  log_before="$(stat -c %s "$SVC_DIR/stdout.log")"
  wrk_run me-log "$ME_CONNS" "$DURATION" "$SVC_URL/me" "$(me_auth "$token")"
  sleep 0.5
  echo "$(( $(stat -c %s "$SVC_DIR/stdout.log") - log_before ))" >"$RAW/me-log.log_bytes"
  stop_server

  log "2b. service GET /me, ACCESS_LOG=off"
  start_service me-nolog "$SERVER_CPUS" ACCESS_LOG=off
  token="$(client token "$SVC_URL" "$ME_EMAIL" "$ME_PASSWORD")"
  client check "$SVC_URL" "$token"
  wrk_run warmup-me-nolog "$ME_CONNS" "$WARMUP" "$SVC_URL/me" "$(me_auth "$token")" >/dev/null
  wrk_run me-nolog "$ME_CONNS" "$DURATION" "$SVC_URL/me" "$(me_auth "$token")"
  stop_server

  log "1'. baseline again (after the service runs, to see drift)"
  start_baseline baseline2
  wrk_run warmup-baseline2 "$ME_CONNS" "$WARMUP" "$SVC_URL/me" >/dev/null
  wrk_run baseline2 "$ME_CONNS" "$DURATION" "$SVC_URL/me"
  stop_server

  # 3 + 4. Login, and GET /me against a login flood: headline placement, then the 2-core variant.
  # 3 + 4. Login, and GET /me against a login flood. One load generator is one client IP, and the
  # default per-IP login limit (30 per 5 min) would answer nearly every request with 429, so these
  # runs set RATE_LIMITS=off (README: "off for load tests") and every login reaches argon2id.
  flood_suite core0 "$SERVER_CPUS" yes RATE_LIMITS=off
  flood_suite cores01 "0,1" yes RATE_LIMITS=off
  # The same flood against the default configuration (limits on): mostly cheap 429s, at a far
  # higher rate. Reported separately and labelled; it is not the target measurement.
  flood_suite core0-limits "$SERVER_CPUS" no

  # 5. Uploads: 16 users × ~5 MiB noise JPEG in parallel, 3 rounds; server memory from /proc.
  log "5. uploads: $UPLOAD_PARALLEL parallel × $UPLOAD_ROUNDS rounds"
  start_service uploads "$SERVER_CPUS"
  mark="$(cpu_mark)"
  on_client timeout --signal=KILL 300 "$BUN" "$BENCH_DIR/uploads.ts" "$SVC_URL" "$SVC_PID" "$RAW/uploads.json" \
    "$UPLOAD_PARALLEL" "$UPLOAD_ROUNDS" >&2 || die "upload benchmark failed"
  cpu_since "$mark" "$RAW/uploads.cpu.json"
  stop_server

  # 6. Cold start: fresh data dir each time, /healthz polled every 2 ms.
  log "6. cold start × $COLD_RUNS"
  mark="$(cpu_mark)"
  on_client timeout --signal=KILL 300 "$BUN" "$BENCH_DIR/coldstart.ts" "$BUN" "$SERVICE_MAIN" "$RAW/coldstart.json" \
    "$COLD_RUNS" "$SERVER_CPUS" >&2 || die "cold start benchmark failed"
  cpu_since "$mark" "$RAW/coldstart.cpu.json"

  # 7. Idle RSS: fresh service, 20 × GET /healthz after the first 200, 2 s idle, then VmRSS.
  log "7. idle RSS"
  start_service idle "$SERVER_CPUS"
  client healthz "$SVC_URL" 20
  sleep 2
  echo "{\"rss_kib\":$(status_kib "$SVC_PID" VmRSS),\"hwm_kib\":$(status_kib "$SVC_PID" VmHWM),\"threads\":$(status_kib "$SVC_PID" Threads)}" \
    >"$RAW/idle.json"
  echo "  idle: $(cat "$RAW/idle.json")" >&2
  stop_server

  {
    echo "src_fingerprint_end: $(src_fingerprint "$ROOT")"
    echo "bun_test_procs_end: $(bun_tests)"
    echo "loadavg_end: $(cut -d' ' -f1-3 /proc/loadavg)"
  } >>"$RAW/meta.txt"
}

RUN_DIRS=()
for run_no in $(seq 1 "$RUNS"); do
  RAW="$OUT/runs/$(date -u +%Y%m%dT%H%M%SZ)"
  mkdir -p "$RAW"
  RUN_DIRS+=("$RAW")
  log "run $run_no of $RUNS → $RAW"
  if [ "$WAIT_IDLE" = 1 ] && [ "$run_no" -gt 1 ]; then wait_idle; fi
  run_suite
done

"$BUN" "$BENCH_DIR/report.ts" "${RUN_DIRS[@]}" >"$OUT/latest.md"
echo
cat "$OUT/latest.md"
echo
echo "raw numbers: ${RUN_DIRS[*]}" >&2
