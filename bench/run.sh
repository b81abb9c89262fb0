#!/usr/bin/env bash
# Load benchmark for the profile service against a bare Bun.serve baseline, in one run.
#
#   bash bench/run.sh [--wait-idle]
#
# Servers are pinned to core 0 (taskset -c 0), every load generator (wrk, the Bun clients) to
# core 1. All traffic goes to 127.0.0.1 and every load run is bounded in time. Raw numbers land in
# bench/out/runs/<utc-time>/ and the markdown table in bench/out/latest.md (and on stdout).
# --wait-idle: before measuring, wait (polling every 20 s, at most 10 min) until no `bun test` runs.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
BUN="$ROOT/node_modules/.bin/bun"
OUT="$BENCH_DIR/out"
LUA="$BENCH_DIR/wrk/request.lua"

SERVER_CPUS=0       # every server process (baseline and service) and all its threads
CLIENT_CPU=1        # wrk and the Bun clients
WARMUP=2s           # before every measured wrk run, same connections, same server
DURATION=10s        # every measured wrk run
ME_CONNS=32         # GET /me throughput, baseline and service alike
LOGIN_CONNS=4       # POST /login latency
FLOOD_CONNS=16      # POST /login flood
FLOOD_ME_CONNS=8    # GET /me measured alone and during the flood (see RESULTS.md for the choice)
UPLOAD_PARALLEL=16
UPLOAD_ROUNDS=3
COLD_RUNS=7
ME_EMAIL="bench-me@example.com"
ME_PASSWORD="bench-password-123"

WAIT_IDLE=0
for arg in "$@"; do
  case "$arg" in
    --wait-idle) WAIT_IDLE=1 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown option: $arg (try --help)" >&2; exit 2 ;;
  esac
done

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

if [ "$WAIT_IDLE" = 1 ]; then
  for _ in $(seq 1 30); do
    [ "$(bun_tests)" -eq 0 ] && break
    echo "waiting: $(bun_tests) 'bun test' process(es) running (load: $(cut -d' ' -f1-3 /proc/loadavg))"
    sleep 20
  done
  [ "$(bun_tests)" -eq 0 ] || echo "warning: 'bun test' still running after 10 minutes; measuring anyway" >&2
fi

RUN_ID="$(date -u +%Y%m%dT%H%M%SZ)"
RAW="$OUT/runs/$RUN_ID"
mkdir -p "$RAW"
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

log() { printf '\n== %s\n' "$*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

on_client() { taskset -c "$CLIENT_CPU" "$@"; }
client() { on_client "$BUN" "$BENCH_DIR/client.ts" "$@"; }

# ---------------------------------------------------------------------------------------------
# Machine and conditions
# ---------------------------------------------------------------------------------------------
{
  echo "run_id: $RUN_ID"
  echo "date_utc: $(date -u '+%Y-%m-%d %H:%M:%S')"
  echo "nproc: $(nproc --all)"
  echo "cpu_model: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "mem_total: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "kernel: $(uname -sr)"
  echo "bun: $("$BUN" --version)"
  echo "wrk: $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
  echo "bun_test_procs_start: $(bun_tests)"
  echo "loadavg_start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$RAW/meta.txt"
cat "$RAW/meta.txt" >&2

# ---------------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------------
SVC_PID=""
SVC_URL=""
SVC_DIR=""

# start_baseline <name>
start_baseline() {
  local name="$1" port
  SVC_DIR="$WORK/$name"; mkdir -p "$SVC_DIR"
  port="$(client port)"
  SVC_URL="http://127.0.0.1:$port"
  env -i PATH="$PATH" HOME="$HOME" PORT="$port" HOST=127.0.0.1 \
    taskset -c "$SERVER_CPUS" "$BUN" "$BENCH_DIR/baseline.ts" >"$SVC_DIR/stdout.log" 2>"$SVC_DIR/stderr.log" &
  SVC_PID=$!
  PIDS+=("$SVC_PID")
  client wait "$SVC_URL" || { tail -20 "$SVC_DIR/stderr.log" >&2; die "baseline did not start"; }
}

# start_service <name> <cpus> [VAR=value ...]: the real entry point in a fresh temp dir, clean env.
start_service() {
  local name="$1" cpus="$2" port secret
  shift 2
  SVC_DIR="$WORK/$name"; mkdir -p "$SVC_DIR"
  port="$(client port)"
  SVC_URL="http://127.0.0.1:$port"
  secret="$(head -c 48 /dev/urandom | base64 | tr -d '\n')"
  (
    cd "$SVC_DIR"
    exec env -i PATH="$PATH" HOME="$HOME" \
      PORT="$port" HOST=127.0.0.1 \
      DATABASE_URL="sqlite://$SVC_DIR/app.db" STATIC_DIR="$SVC_DIR/static" DATA_DIR="$SVC_DIR/data" \
      JWT_SECRET="$secret" "$@" \
      taskset -c "$cpus" "$BUN" "$ROOT/src/main.ts"
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
  local name="$1"
  shift
  wrk_cmd "$@" >"$RAW/$name.txt" 2>&1 || die "wrk failed for $name: $(tail -5 "$RAW/$name.txt")"
  extract_json "$RAW/$name"
  echo "  $name: $(cat "$RAW/$name.json")" >&2
}

me_auth() { echo "WRK_AUTH=Bearer $1"; }
LOGIN_BODY="{\"email\":\"$ME_EMAIL\",\"password\":\"$ME_PASSWORD\"}"
LOGIN_VARS=(WRK_METHOD=POST "WRK_BODY=$LOGIN_BODY" WRK_CONTENT_TYPE=application/json)

# ---------------------------------------------------------------------------------------------
# 1 + 2. GET /me throughput: baseline, service (ACCESS_LOG default on), service (off), baseline
# ---------------------------------------------------------------------------------------------
log "1. baseline: bare Bun.serve GET /me (run before the service)"
start_baseline baseline1
wrk_run warmup-baseline1 "$ME_CONNS" "$WARMUP" "$SVC_URL/me" >/dev/null
wrk_run baseline1 "$ME_CONNS" "$DURATION" "$SVC_URL/me"
status_kib "$SVC_PID" VmRSS >"$RAW/baseline1.rss_kib"
stop_server

log "2a. service GET /me, ACCESS_LOG default (on)"
start_service me-log "$SERVER_CPUS"
TOKEN="$(client token "$SVC_URL" "$ME_EMAIL" "$ME_PASSWORD")"
client check "$SVC_URL" "$TOKEN"
wrk_run warmup-me-log "$ME_CONNS" "$WARMUP" "$SVC_URL/me" "$(me_auth "$TOKEN")" >/dev/null
log_before="$(stat -c %s "$SVC_DIR/stdout.log")"
wrk_run me-log "$ME_CONNS" "$DURATION" "$SVC_URL/me" "$(me_auth "$TOKEN")"
sleep 0.5
echo "$(( $(stat -c %s "$SVC_DIR/stdout.log") - log_before ))" >"$RAW/me-log.log_bytes"
stop_server

log "2b. service GET /me, ACCESS_LOG=off"
start_service me-nolog "$SERVER_CPUS" ACCESS_LOG=off
TOKEN="$(client token "$SVC_URL" "$ME_EMAIL" "$ME_PASSWORD")"
client check "$SVC_URL" "$TOKEN"
wrk_run warmup-me-nolog "$ME_CONNS" "$WARMUP" "$SVC_URL/me" "$(me_auth "$TOKEN")" >/dev/null
wrk_run me-nolog "$ME_CONNS" "$DURATION" "$SVC_URL/me" "$(me_auth "$TOKEN")"
stop_server

log "1'. baseline again (after the service runs, to see drift)"
start_baseline baseline2
wrk_run warmup-baseline2 "$ME_CONNS" "$WARMUP" "$SVC_URL/me" >/dev/null
wrk_run baseline2 "$ME_CONNS" "$DURATION" "$SVC_URL/me"
stop_server

# ---------------------------------------------------------------------------------------------
# 3 + 4. Login latency, then GET /me alone and during a login flood, for one server placement.
# flood_suite <label> <server-cpus>
# ---------------------------------------------------------------------------------------------
flood_suite() {
  local label="$1" cpus="$2" flood_pid me_rc flood_rc
  start_service "flood-$label" "$cpus"
  echo "availableParallelism under taskset -c $cpus: $(taskset -c "$cpus" "$BUN" -e 'console.log(require("os").availableParallelism())')" \
    >"$RAW/$label.parallelism"
  TOKEN="$(client token "$SVC_URL" "$ME_EMAIL" "$ME_PASSWORD")"
  client check "$SVC_URL" "$TOKEN"

  log "3. [$label] POST /login, -c$LOGIN_CONNS"
  wrk_run "warmup-login-$label" "$LOGIN_CONNS" "$WARMUP" "$SVC_URL/login" "${LOGIN_VARS[@]}" >/dev/null
  wrk_run "login-$label" "$LOGIN_CONNS" "$DURATION" "$SVC_URL/login" "${LOGIN_VARS[@]}"

  log "4. [$label] GET /me -c$FLOOD_ME_CONNS alone, then during a POST /login flood -c$FLOOD_CONNS"
  wrk_run "warmup-me8-$label" "$FLOOD_ME_CONNS" "$WARMUP" "$SVC_URL/me" "$(me_auth "$TOKEN")" >/dev/null
  wrk_run "me8-alone-$label" "$FLOOD_ME_CONNS" "$DURATION" "$SVC_URL/me" "$(me_auth "$TOKEN")"
  # Both wrk processes start together, same duration, both on the client core.
  wrk_cmd "$FLOOD_CONNS" "$DURATION" "$SVC_URL/login" "${LOGIN_VARS[@]}" >"$RAW/flood-$label.txt" 2>&1 &
  flood_pid=$!
  PIDS+=("$flood_pid")
  me_rc=0
  wrk_cmd "$FLOOD_ME_CONNS" "$DURATION" "$SVC_URL/me" "$(me_auth "$TOKEN")" >"$RAW/me8-flood-$label.txt" 2>&1 || me_rc=$?
  flood_rc=0
  wait "$flood_pid" || flood_rc=$?
  [ "$me_rc" = 0 ] || die "wrk GET /me during the flood failed: $(tail -5 "$RAW/me8-flood-$label.txt")"
  [ "$flood_rc" = 0 ] || die "wrk login flood failed: $(tail -5 "$RAW/flood-$label.txt")"
  extract_json "$RAW/me8-flood-$label"
  extract_json "$RAW/flood-$label"
  echo "  me8-flood-$label: $(cat "$RAW/me8-flood-$label.json")" >&2
  echo "  flood-$label: $(cat "$RAW/flood-$label.json")" >&2
  stop_server
}

flood_suite core0 "$SERVER_CPUS"
flood_suite cores01 "0,1"

# ---------------------------------------------------------------------------------------------
# 5. Uploads: 16 users × ~5 MiB noise JPEG in parallel, 3 rounds; server memory from /proc.
# ---------------------------------------------------------------------------------------------
log "5. uploads: $UPLOAD_PARALLEL parallel × $UPLOAD_ROUNDS rounds"
start_service uploads "$SERVER_CPUS"
status_kib "$SVC_PID" VmRSS >"$RAW/uploads.rss_start_kib"
on_client timeout --signal=KILL 300 "$BUN" "$BENCH_DIR/uploads.ts" "$SVC_URL" "$SVC_PID" "$RAW/uploads.json" \
  "$UPLOAD_PARALLEL" "$UPLOAD_ROUNDS" >&2 || die "upload benchmark failed"
stop_server

# ---------------------------------------------------------------------------------------------
# 6. Cold start
# ---------------------------------------------------------------------------------------------
log "6. cold start × $COLD_RUNS"
on_client timeout --signal=KILL 300 "$BUN" "$BENCH_DIR/coldstart.ts" "$ROOT" "$RAW/coldstart.json" "$COLD_RUNS" "$SERVER_CPUS" >&2 \
  || die "cold start benchmark failed"

# ---------------------------------------------------------------------------------------------
# 7. Idle RSS: fresh service, 20 × GET /healthz after the first 200, 2 s idle, VmRSS.
# ---------------------------------------------------------------------------------------------
log "7. idle RSS"
start_service idle "$SERVER_CPUS"
client healthz "$SVC_URL" 20
sleep 2
{
  echo "{\"rss_kib\":$(status_kib "$SVC_PID" VmRSS),\"hwm_kib\":$(status_kib "$SVC_PID" VmHWM),\"threads\":$(awk '$1 == "Threads:" {print $2}' "/proc/$SVC_PID/status")}"
} >"$RAW/idle.json"
echo "  idle: $(cat "$RAW/idle.json")" >&2
stop_server

{
  echo "bun_test_procs_end: $(bun_tests)"
  echo "loadavg_end: $(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$RAW/meta.txt"

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
"$BUN" "$BENCH_DIR/report.ts" "$RAW" >"$RAW/report.md"
cp "$RAW/report.md" "$OUT/latest.md"
echo
cat "$OUT/latest.md"
echo
echo "raw numbers: $RAW" >&2
