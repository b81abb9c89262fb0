#!/usr/bin/env bash
# Builds the real Dockerfile with Debian's podman and checks the image end to end: size, non-root user,
# HEALTHCHECK, and register → login → upload → fetch against the running container.
# No registry serves base images here, so the two FROM images are stand-ins made from this machine's
# own files (its Bun from node_modules, its Debian glibc, libstdc++ and CA bundle) under the exact names
# the Dockerfile uses; nothing is ever pulled. Everything podman keeps lives in one temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."

# One bound on the whole run, on top of each step's own: timeout signals the whole process group, and
# the TERM trap turns that into a normal exit so the cleanup below still runs.
if [ -z "${CONTAINER_CHECK_BOUNDED:-}" ]; then
  CONTAINER_CHECK_BOUNDED=1 exec timeout --kill-after=60 "${CONTAINER_CHECK_TIMEOUT:-1200}" bash "$0" "$@"
fi
trap 'fail "interrupted (timed out?)"' TERM INT

MAX_MB=${MAX_MB:-150}
BUN=$PWD/node_modules/.bin/bun
step() { echo "-- $*"; }
fail() { echo "container-check: FAILED: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root: it installs packages and runs rootful podman (as CI does here)"
[ -x "$BUN" ] || fail "no $BUN: run npm ci first"
started=$SECONDS

# --- tools -----------------------------------------------------------------------------------------
# Debian's podman builds (buildah inside) and runs OCI images without a daemon; runc is its runtime.
# No recommends: fuse-overlayfs, slirp4netns and the rest are not needed with vfs and host networking.
missing=()
for tool in podman runc curl jq; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing ${missing[*]}"
  timeout 300 apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- podman configured in a temp dir, so the host's own config and storage are never touched ----------
work=$(mktemp -d /var/tmp/container-check.XXXXXX)
ctr=profile-check-$$
image=localhost/profile-service:check-$$
cleanup() {
  # Teardown must not hide the real failure, so every step here is allowed to fail.
  timeout 60 podman rm -f -v -t 5 "$ctr" >/dev/null 2>&1 || true
  timeout 120 podman rmi -a -f >/dev/null 2>&1 || true
  # A container podman failed to remove may leave its /dev/shm mounted under $work: unmount first.
  awk -v w="$work" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r umount -l || true
  rm -rf "$work" || true
}
trap cleanup EXIT

mkdir -p "$work"/{storage,run,tmp,libpod,volumes}
# vfs: plain directory copies, no overlay or FUSE needed in this sandbox.
cat >"$work/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$work/storage"
runroot = "$work/run"
EOF
# cgroupfs: no systemd runs here; file events: no journald. Host network only, never a bridge.
cat >"$work/containers.conf" <<EOF
[containers]
netns = "host"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$work/events.log"
runtime = "runc"
tmp_dir = "$work/libpod"
volume_path = "$work/volumes"
image_copy_tmp_dir = "$work/tmp"
EOF
# Short names (FROM oven/bun:1.4.5) resolve as Docker would, to docker.io, and only to local images.
cat >"$work/registries.conf" <<EOF
unqualified-search-registries = ["docker.io"]
short-name-mode = "permissive"
EOF
export CONTAINERS_STORAGE_CONF=$work/storage.conf CONTAINERS_CONF=$work/containers.conf \
  CONTAINERS_REGISTRIES_CONF=$work/registries.conf BUILDAH_ISOLATION=chroot TMPDIR=$work/tmp

# --- stand-in base images ----------------------------------------------------------------------------
# Copies host paths into a rootfs at their canonical place (merged /usr, as on Debian 12), keeping
# symlinks as symlinks and bringing their targets along.
copy_in() {
  local root=$1 p dir
  shift
  for p in "$@"; do
    if [ -L "$p" ] && [ -d "$p" ]; then continue; fi # /lib, /bin…: the merged-/usr links made below
    if [ -d "$p" ]; then mkdir -p "$root$(realpath "$p")"; continue; fi
    [ -e "$p" ] || continue # listed by dpkg but excluded from this install (docs)
    dir=$(realpath "$(dirname "$p")")
    [ -e "$root$dir/$(basename "$p")" ] && continue
    mkdir -p "$root$dir"
    cp -a "$p" "$root$dir/"
    if [ -L "$p" ]; then copy_in "$root" "$(realpath "$p")"; fi
  done
}
new_rootfs() {
  local root=$1
  mkdir -p "$root"/usr/{bin,sbin,lib,lib64} "$root"/{etc,home,tmp}
  chmod 1777 "$root/tmp"
  ln -s usr/bin "$root/bin"; ln -s usr/sbin "$root/sbin"; ln -s usr/lib "$root/lib"; ln -s usr/lib64 "$root/lib64"
  copy_in "$root" /etc/ssl/certs/ca-certificates.crt
}
# import_rootfs <dir> <image name> [--change …]: the folder as a local image (with a standard PATH),
# then the folder and its tarball are gone.
import_rootfs() {
  local dir=$1 name=$2
  shift 2
  tar -C "$dir" --numeric-owner -cf "$dir.tar" .
  timeout 300 podman import -q --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$@" "$dir.tar" "$name" >/dev/null
  rm -rf "$dir" "$dir.tar"
}
libs_of() { ldd "$@" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u; }
pkg_files() { dpkg -L "$@" | grep -vE '^/\.$|^/usr/share/(doc|doc-base|man|info|lintian|bug)(/|$)'; }

mapfile -t from < <(awk 'toupper($1) == "FROM" { print $2 }' Dockerfile)
[ ${#from[@]} -eq 2 ] || fail "expected two FROM lines in Dockerfile, found ${#from[@]}"
case "${from[0]}" in oven/bun:*) ;; *) fail "build stage is ${from[0]}, this script makes only oven/bun" ;; esac
case "${from[1]}" in gcr.io/distroless/cc-debian12:*) ;; *) fail "runtime stage is ${from[1]}, this script makes only distroless cc" ;; esac
bun_version=$("$BUN" --version)
[ "oven/bun:$bun_version" = "${from[0]}" ] || fail "Dockerfile builds with ${from[0]} but node_modules has Bun $bun_version"

step "stand-in ${from[0]}: Bun $bun_version from node_modules, with sh and coreutils from this Debian"
# NODE_EXTRA_CA_CERTS: this machine reaches the npm registry through a TLS proxy whose CA is only in
# the host's bundle, not in Bun's built-in roots. It is set in the stand-in only, never in the Dockerfile.
root=$work/bun-rootfs
new_rootfs "$root"
tools=(/bin/sh /bin/dash /bin/mkdir /bin/cp /bin/mv /bin/rm /bin/ln /bin/ls /bin/cat /bin/chmod /usr/bin/env)
bun_exe=$(realpath "$BUN")
copy_in "$root" "${tools[@]}"
mapfile -t libs < <(libs_of "${tools[@]}" "$bun_exe")
copy_in "$root" "${libs[@]}"
mkdir -p "$root/usr/local/bin" "$root/home/bun/app"
cp "$bun_exe" "$root/usr/local/bin/bun"
ln -s bun "$root/usr/local/bin/bunx"
printf 'root:x:0:0:root:/root:/bin/sh\nbun:x:1000:1000::/home/bun:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nbun:x:1000:\n' >"$root/etc/group"
import_rootfs "$root" "docker.io/${from[0]}" \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'WORKDIR /home/bun/app' --change 'CMD ["/usr/local/bin/bun"]'

step "stand-in ${from[1]}: this Debian's glibc, libgcc, libstdc++, libssl, tzdata, CA bundle; user nonroot (65532)"
root=$work/cc-rootfs
new_rootfs "$root"
mapfile -t files < <(pkg_files libc6 libgcc-s1 libstdc++6 libssl3 netbase tzdata)
copy_in "$root" "${files[@]}"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n' >"$root/etc/group"
mkdir -p "$root/home/nonroot" "$root/root"
chown 65532:65532 "$root/home/nonroot"
import_rootfs "$root" "${from[1]}" \
  --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
  --change 'USER 65532' --change 'WORKDIR /home/nonroot'
echo "stand-in runtime base: $(( $(podman image inspect --format '{{.Size}}' "${from[1]}") / 1000000 )) MB"

# --- the real Dockerfile -----------------------------------------------------------------------------
# docker format keeps HEALTHCHECK (OCI has no field for it); chroot isolation needs no runtime for RUN;
# host network lets `bun install` reach the npm registry.
step "podman build (the Dockerfile as committed; pull=never)"
build_started=$SECONDS
timeout 900 podman build -q --pull=never --format docker --isolation chroot --network host --layers=false \
  -t "$image" . >/dev/null || fail "podman build failed"
echo "built in $((SECONDS - build_started)) s"

size=$(podman image inspect --format '{{.Size}}' "$image")
size_mb=$(( (size + 999999) / 1000000 ))
echo "image size: ${size_mb} MB (${size} bytes; limit ${MAX_MB} MB)"
[ "$size_mb" -lt "$MAX_MB" ] || fail "image is ${size_mb} MB, not under ${MAX_MB} MB"
# HEALTHCHECK in exec form (["CMD", …]): distroless has no shell for the CMD-SHELL form.
health=$(podman image inspect --format '{{json .HealthCheck}}' "$image")
mapfile -t health_cmd < <(echo "$health" | jq -r 'select(.Test[0] == "CMD") | .Test[1:][]')
[ ${#health_cmd[@]} -gt 0 ] || fail "image has no exec-form HEALTHCHECK: $health"
[ "$(podman image inspect --format '{{.User}}' "$image")" = nonroot ] || fail "image USER is not nonroot"

# --- run it ------------------------------------------------------------------------------------------
port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
base=http://127.0.0.1:$port
# /data as a bind mount, owned as the image's user would need in production; /app/static as an anonymous
# volume, which podman seeds from the image (so it keeps nonroot's ownership).
mkdir -p "$work/data"
chown 65532:65532 "$work/data"
step "podman run on host port $port"
# Limits: podman asks runc for nofile and nproc above the hard limits it hands down, and this sandbox
# lets no one, root included, raise a hard limit; so ask for the host's own nofile and a few thousand
# processes (the service runs a handful of threads). --no-healthcheck: podman would schedule it with a
# systemd timer, and no systemd runs here; the check below runs the same command itself.
# Production needs SMTP_URL. No mail server runs here: the registration's verification mail fails
# and is logged, which fails no request (the API tests read real mail from an SMTP server).
timeout 60 podman run -d --name "$ctr" --network host --pull=never \
  --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096 --no-healthcheck \
  -e JWT_SECRET="container-check-secret-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
  -e PORT="$port" -e PUBLIC_BASE_URL="$base" -e SMTP_URL=smtp://127.0.0.1:9 \
  -v "$work/data:/data" "$image" >/dev/null || fail "podman run failed"

logs() { timeout 20 podman logs "$ctr" 2>&1 | tail -n 40 >&2 || true; }
for _ in $(seq 1 60); do
  curl -fsS -m 2 "$base/healthz" >/dev/null 2>&1 && break
  [ "$(podman inspect --format '{{.State.Running}}' "$ctr")" = true ] || { logs; fail "container exited"; }
  sleep 0.5
done
curl -fsS -m 2 "$base/healthz" >/dev/null || { logs; fail "/healthz did not answer within 30 s"; }

# The process's real uid, read from the host's /proc: not root, the image's nonroot.
pid=$(podman inspect --format '{{.State.Pid}}' "$ctr")
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
echo "service process uid: $uid"
[ "$uid" = 65532 ] || fail "service runs as uid $uid, not 65532"

# The image's own HEALTHCHECK command, run inside the container as the image's user (exit 0 = healthy).
timeout 30 podman exec "$ctr" "${health_cmd[@]}" || { logs; fail "HEALTHCHECK (${health_cmd[*]}) failed"; }
echo "healthcheck (${health_cmd[*]}): healthy"

step "register → login → upload → fetch"
email="check-$$@example.com"
password="container-check-password"
# Answers with the body and fails on any status but the expected one.
call() {
  local want=$1 out code
  shift
  out=$(mktemp -p "$work")
  code=$(curl -sS -m 30 -o "$out" -w '%{http_code}' "$@") || { logs; fail "curl $*"; }
  [ "$code" = "$want" ] || { cat "$out" >&2; echo >&2; logs; fail "expected $want, got $code from: curl $*"; }
  cat "$out"
}
call 201 -H 'Content-Type: application/json' \
  -d "{\"name\":\"Container Check\",\"email\":\"$email\",\"password\":\"$password\"}" "$base/register" >/dev/null
token=$(call 200 -H 'Content-Type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"$password\"}" "$base/login" | jq -r .access_token)
case "$token" in "" | null) fail "login returned no access_token" ;; esac
PNG_OUT=$work/picture.png "$BUN" -e \
  'import { png } from "./test/fixtures/images.ts"; await Bun.write(process.env.PNG_OUT, png(40, 30));'
url=$(call 200 -H "Authorization: Bearer $token" -F "image=@$work/picture.png;type=image/png" \
  "$base/me/upload-image" | jq -r .image_url)
case "$url" in "$base"/static/profile/*) ;; *) fail "image_url $url is not under $base/static/profile/" ;; esac
type=$(curl -sS -m 30 -o "$work/fetched" -w '%{http_code} %{content_type}' "$url")
[ "$type" = "200 image/jpeg" ] || { logs; fail "GET $url answered '$type', not '200 image/jpeg'"; }
[ "$(head -c 3 "$work/fetched" | od -An -tx1 | tr -d ' \n')" = ffd8ff ] || fail "GET $url did not return JPEG bytes"
echo "GET $url → $type, $(wc -c <"$work/fetched") bytes"
# The database went to the /data volume, not into the container's own layer.
[ -s "$work/data/app.db" ] || fail "no app.db in the /data volume"

timeout 30 podman stop -t 10 "$ctr" >/dev/null || fail "container did not stop on SIGTERM"
exit_code=$(podman inspect --format '{{.State.ExitCode}}' "$ctr")
[ "$exit_code" = 0 ] || { logs; fail "service exited $exit_code on SIGTERM"; }
echo "container-check: OK in $((SECONDS - started)) s (image ${size_mb} MB)"
