#!/usr/bin/env bash
# Cost of issue 11's variant sets on the whole upload (HTTP side included): bench/uploads.ts (16 parallel
# ~5 MiB uploads × 3 rounds) against today's single re-encode (git ref, default main) and against this tree
# with each IMAGE_VARIANT_SIZES given. Reports uploads/s, peak RSS and CPU per upload (server + decode children).
# Usage: bench/variant-uploads.sh [base-ref=main] [sizes...]   e.g. bench/variant-uploads.sh main 64,128,256,512 64,128,256
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
BUN="$HERE/node_modules/.bin/bun"
BASE_REF="${1:-main}"; shift || true
SIZES=("${@:-64,128,256,512}")
WORK="$(mktemp -d /tmp/variant-uploads.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

# The base tree: its src and package.json, with this tree's node_modules.
mkdir -p "$WORK/base"
git -C "$HERE" archive "$BASE_REF" src package.json tsconfig.json | tar -x -C "$WORK/base"
ln -s "$HERE/node_modules" "$WORK/base/node_modules"

run() {  # run <label> <main.ts> [VAR=value ...]
  local label="$1" main="$2" dir port pid
  shift 2
  dir="$(mktemp -d "$WORK/svc.XXXXXX")"
  port=$((20000 + RANDOM % 20000))
  (cd "$dir" && exec env -i PATH="$PATH" HOME="$HOME" PORT="$port" HOST=127.0.0.1 RATE_LIMITS=off \
    DATABASE_URL="sqlite://$dir/app.db" STATIC_DIR="$dir/static" DATA_DIR="$dir/data" \
    JWT_SECRET="bench-secret-0123456789abcdef-0123456789abcdef" "$@" "$BUN" "$main") >"$dir/out.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  printf '%-28s ' "$label"
  "$BUN" "$HERE/bench/uploads.ts" "http://127.0.0.1:$port" "$pid" "$dir/uploads.json" 16 3
  grep -F -A3 '"failures"' "$dir/uploads.json" | grep -vF '"failures": []' | head -3 || true
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
}

run "before ($BASE_REF)" "$WORK/base/src/main.ts"
for sizes in "${SIZES[@]}"; do run "after ($sizes)" "$HERE/src/main.ts" IMAGE_VARIANT_SIZES="$sizes"; done
