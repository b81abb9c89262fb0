# Sourced by the bench scripts that run the real service (cache.sh, compare.sh, scale.sh, two-instances.sh): the
# paths they share, a scratch WORK directory removed on exit, one way to start the service and the bare baseline,
# wait for them, get a token, read a process's CPU time and clean up. The caller sets BENCH_DIR first.

ROOT="$(cd "$BENCH_DIR/.." && pwd)"
BUN="$ROOT/node_modules/.bin/bun"
LUA="$BENCH_DIR/wrk/request.lua"
PG="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
# The client address a proxy in front names in X-Forwarded-For, for the runs with TRUST_PROXY=1 (cache.sh, syscalls.sh).
FORWARDED_FOR=203.0.113.7
PIDS=()
WORK="$(mktemp -d)"
trap bench_cleanup EXIT

# need <tool>…: stops, naming the package to install, when one is missing (installs nothing).
need() {
  local tool package
  for tool in "$@"; do
    command -v "$tool" >/dev/null && continue
    package=$tool; [ "$tool" = psql ] && package=postgresql-client
    echo "$tool is not installed. Install it with: apt-get install $package" >&2
    exit 1
  done
}

# pg_schema <prefix>: a fresh PostgreSQL schema for this run, named in SCHEMA (bench_cleanup drops each one made).
SCHEMAS=()
pg_schema() {
  SCHEMA="${1}_$(date +%s)_$$"
  psql -q "$PG" -c "CREATE SCHEMA $SCHEMA" >/dev/null
  SCHEMAS+=("$SCHEMA")
}

# Stops every server started here, drops the PostgreSQL schemas made by pg_schema, removes WORK.
bench_cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for schema in "${SCHEMAS[@]}"; do psql -q "$PG" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}

stop_all() { for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; PIDS=(); }

# wait_up <port> [log file]: until GET /healthz answers (10 s at most); else shows the log and exits 1.
wait_up() {
  for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$1/healthz" >/dev/null && return; sleep 0.05; done
  echo "port $1 did not start" >&2
  [ -z "${2:-}" ] || cat "$2" >&2
  exit 1
}

# start_service <name> <tree> <port> <database url> <core> [KEY=VALUE…]: <tree>/src/main.ts as in production,
# rate limits off (README: for load tests), access log on unless given. Nothing listens on port 9, so
# SMTP_URL satisfies production and a sign-up's mail fails, logged. Sets SERVER_PID.
start_service() {
  local name=$1 tree=$2 port=$3 url=$4 core=$5; shift 5
  mkdir -p "$WORK/$name"
  (cd "$WORK/$name" && exec env PORT="$port" HOST=127.0.0.1 NODE_ENV=production RATE_LIMITS=off SMTP_URL=smtp://127.0.0.1:9 DATABASE_URL="$url" \
    JWT_SECRET=bench-secret-0123456789abcdef0123456789abcdef STATIC_DIR="$WORK/$name/static" DATA_DIR="$WORK/$name/data" "$@" \
    taskset -c "$core" "$BUN" "$tree/src/main.ts" >"$WORK/$name/log" 2>&1) &
  PIDS+=($!)
  SERVER_PID=$!
  wait_up "$port" "$WORK/$name/log"
}

# start_baseline <core>: the bare Bun.serve yardstick on port 9300. Sets BARE_PID.
start_baseline() {
  (PORT=9300 exec taskset -c "$1" "$BUN" "$BENCH_DIR/baseline.ts" >/dev/null 2>&1) &
  PIDS+=($!)
  BARE_PID=$!
  wait_up 9300
}

# token <port>: registers (409 is fine) and logs in the benchmark user; prints the access token.
token() {
  curl -s -o /dev/null -X POST "http://127.0.0.1:$1/register" -H 'Content-Type: application/json' \
    -d '{"name":"Bench","email":"bench@example.com","password":"bench-password-123"}'
  curl -s -X POST "http://127.0.0.1:$1/login" -H 'Content-Type: application/json' \
    -d '{"email":"bench@example.com","password":"bench-password-123"}' | sed -E 's/.*"access_token":"([^"]+)".*/\1/'
}

# ticks <pid>: the process's CPU time so far (utime + stime, all threads), in clock ticks.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# cpu_us <ticks before> <ticks after> <requests> [decimals=1]: CPU µs per request over that window.
cpu_us() { echo "scale=${4:-1}; ($2 - $1) * 1000000 / $(getconf CLK_TCK) / $3" | bc; }

# field <key>: a number from the BENCH_JSON line on stdin (wrk's report, bench/wrk/report.lua, or one that
# cache.sh's load() extended); stops the script, naming the key, if it is missing (wrk failed, say).
field() {
  local value; value="$(sed -nE "s/.*\"$1\":([0-9.]+).*/\\1/p")"
  [ -n "$value" ] || { echo "wrk's report has no $1 (did wrk fail?)" >&2; exit 1; }
  echo "$value"
}
