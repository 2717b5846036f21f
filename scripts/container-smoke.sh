#!/usr/bin/env bash
# Builds the container image without a Docker daemon and proves that it serves.
#
#   sudo scripts/container-smoke.sh
#
# Steps, each bounded in time:
#   1. base image: if docker.io/library/debian:bookworm-slim is not in the
#      local (vfs) storage, make it with debootstrap --variant=minbase from the
#      Debian mirror this machine's apt uses, and `podman import` it. No
#      registry is contacted.
#   2. build: buildah bud --isolation chroot (runs the unit tests inside).
#   3. run the image with `buildah run` (the image's USER applies) on loopback
#      ports, wait for /readyz, check a registry and an artifacts redirect and
#      /metrics, then SIGTERM it and expect exit status 0.
#   4. run it again as UID 65532 on a read-only bind of the same root
#      filesystem, as Kubernetes would with readOnlyRootFilesystem: the
#      server must still become ready and answer.
#   5. print the image size and the time taken; remove the working container
#      (the image and the base image stay; with BUILDAH_LAYERS=true in the
#      environment buildah also caches the build steps between runs).
#
# Settings (environment):
#   IMAGE           tag to build       (localhost/registry-redirector:smoke)
#   BASE_IMAGE      base for both stages (docker.io/library/debian:bookworm-slim)
#   DEBIAN_MIRROR   mirror for debootstrap (default: the one apt uses here)
#   RUN_TESTS       unit | all | none, passed to the Dockerfile (unit)
#   PORT_BASE       four consecutive loopback ports from here (18580)
#   EXPECT_REGISTRY / EXPECT_ARTIFACTS  hosts the default provider redirects
#                   a non-cloud client to (k8s.gcr.io /
#                   kubernetes-release.storage.googleapis.com)
#   BUILD_TIMEOUT   seconds allowed for the image build (2400)
#   REMOVE_IMAGE=1  also remove the built image at the end
set -euo pipefail

IMAGE=${IMAGE:-localhost/registry-redirector:smoke}
BASE_IMAGE=${BASE_IMAGE:-docker.io/library/debian:bookworm-slim}
RUN_TESTS=${RUN_TESTS:-unit}
PORT_BASE=${PORT_BASE:-18580}
EXPECT_REGISTRY=${EXPECT_REGISTRY:-k8s.gcr.io}
EXPECT_ARTIFACTS=${EXPECT_ARTIFACTS:-kubernetes-release.storage.googleapis.com}
BUILD_TIMEOUT=${BUILD_TIMEOUT:-2400}
CONFIG=/etc/registry-redirector/redirector.yaml
BINARY=/usr/local/bin/registry-redirector
RUNTIME_UID=65532

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
storage=(--storage-driver vfs)
work=$(mktemp -d /tmp/container-smoke.XXXXXX)
container=""
server_pids=()

log() { printf '[smoke %4ds] %s\n' "$SECONDS" "$*"; }
die() {
    log "FAIL: $*"
    exit 1
}

cleanup() {
    local pid
    for pid in "${server_pids[@]}"; do
        # Each server was started as its own process group (set -m below).
        kill -TERM -- "-$pid" 2>/dev/null || true
    done
    for pid in "${server_pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
    if [ -n "$container" ]; then
        buildah "${storage[@]}" umount "$container" > /dev/null 2>&1 || true
        buildah "${storage[@]}" rm "$container" > /dev/null 2>&1 || true
    fi
    if [ "${REMOVE_IMAGE:-0}" = 1 ]; then buildah "${storage[@]}" rmi "$IMAGE" > /dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || die "run as root (buildah with vfs storage and chroot isolation needs it)"
for tool in buildah podman debootstrap curl ss unshare chroot timeout tar; do
    command -v "$tool" > /dev/null || die "$tool not found (apt-get install buildah podman debootstrap curl iproute2)"
done

# --- 1. base image ----------------------------------------------------------

# The first URI that serves SUITE for binary packages, from one-line
# (sources.list) and deb822 (*.sources) files.
apt_uri() {
    local suite=$1 f
    {
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
            [ -f "$f" ] || continue
            awk -v s="$suite" '$1 == "deb" {
                i = 2
                if ($i ~ /^\[/) { while (i < NF && $i !~ /\]$/) i++; i++ }
                if ($(i + 1) == s) print $i
            }' "$f"
        done
        for f in /etc/apt/sources.list.d/*.sources; do
            [ -f "$f" ] || continue
            awk -v s="$suite" 'BEGIN { RS = ""; FS = "\n" }
            {
                types = ""; uris = ""; suites = ""; enabled = "yes"
                for (i = 1; i <= NF; i++) {
                    if ($i ~ /^[ \t]*#/) continue
                    key = tolower($i); sub(/:.*/, "", key)
                    value = $i; sub(/^[^:]*:[ \t]*/, "", value)
                    if (key == "types") types = value
                    else if (key == "uris") uris = value
                    else if (key == "suites") suites = value
                    else if (key == "enabled") enabled = tolower(value)
                }
                if (enabled == "no" || (" " types " ") !~ / deb /) next
                n = split(suites, list, /[ \t]+/)
                for (j = 1; j <= n; j++) if (list[j] == s) { split(uris, u, /[ \t]+/); print u[1] }
            }' "$f"
        done
    } | head -n 1 | sed 's:/*$::'
}

make_base_image() {
    local mirror security rootfs
    mirror=${DEBIAN_MIRROR:-$(apt_uri bookworm)}
    mirror=${mirror:-http://deb.debian.org/debian}
    security=$(apt_uri bookworm-security)
    rootfs=$work/rootfs
    log "base image $BASE_IMAGE missing: debootstrap minbase bookworm from $mirror"
    timeout 900 debootstrap --variant=minbase bookworm "$rootfs" "$mirror" > "$work/debootstrap.log" 2>&1 ||
        { tail -n 20 "$work/debootstrap.log"; die "debootstrap failed (log above)"; }

    # Point-release and security updates too, as the official image does.
    {
        echo "deb $mirror bookworm main"
        echo "deb $mirror bookworm-updates main"
        if [ -n "$security" ]; then echo "deb $security bookworm-security main"; fi
    } > "$rootfs/etc/apt/sources.list"
    # "slim": later package installs skip documentation and translations
    # (licences stay) ...
    cat > "$rootfs/etc/dpkg/dpkg.cfg.d/90-slim" << 'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
    # ... and drop what debootstrap already unpacked, plus the .debs it
    # downloaded (a third of a minbase tree). $rootfs is never empty here.
    find "${rootfs:?}/usr/share/doc" -type f ! -name copyright -delete
    find "${rootfs:?}/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    rm -rf "${rootfs:?}"/usr/share/man/* "${rootfs:?}"/usr/share/info/* "${rootfs:?}"/var/cache/apt/archives/*.deb \
        "${rootfs:?}"/var/cache/apt/*.bin "${rootfs:?}"/var/lib/apt/lists/* "${rootfs:?}"/var/log/*.log

    # Through a file, not a pipe: a failed tar must not leave an empty image
    # under the base image's name.
    tar --numeric-owner -C "$rootfs" -cf "$work/rootfs.tar" .
    rm -rf "$rootfs"
    podman "${storage[@]}" import \
        --change 'ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD=["bash"]' "$work/rootfs.tar" "$BASE_IMAGE" > /dev/null
    rm -f "$work/rootfs.tar"
    log "base image imported"
}

if buildah "${storage[@]}" inspect --type image "$BASE_IMAGE" > /dev/null 2>&1; then
    log "base image $BASE_IMAGE present"
else
    make_base_image
fi

# --- 2. build ---------------------------------------------------------------

version=$(sed -n 's/^project([^)]* VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt" | head -n 1)
revision=$(git -C "$root" rev-parse HEAD 2> /dev/null || echo unknown)
old_id=$(buildah "${storage[@]}" images -q "$IMAGE" 2> /dev/null | head -n 1 || true)
build_started=$SECONDS
log "building $IMAGE from $root (RUN_TESTS=$RUN_TESTS)"
timeout "$BUILD_TIMEOUT" buildah "${storage[@]}" bud --isolation chroot \
    --build-arg "BASE_IMAGE=$BASE_IMAGE" \
    --build-arg "RUN_TESTS=$RUN_TESTS" \
    --build-arg "VERSION=${version:-0.0.0}" \
    --build-arg "REVISION=$revision" \
    --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    -f "$root/Dockerfile" -t "$IMAGE" "$root" > "$work/build.log" 2>&1 ||
    { tail -n 40 "$work/build.log"; die "image build failed (last lines above)"; }
build_seconds=$((SECONDS - build_started))
# The tag moved to the new image: drop the one this script built last time,
# which vfs would otherwise keep as a full copy.
new_id=$(buildah "${storage[@]}" images -q "$IMAGE" 2> /dev/null | head -n 1)
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
    buildah "${storage[@]}" rmi "$old_id" > /dev/null 2>&1 || true
fi
tests=$(grep -E 'tests passed|No tests were found' "$work/build.log" | tail -n 1 || true)
log "built in ${build_seconds}s; tests in the builder: ${tests:-not run}"

# --- 3./4. run and check ----------------------------------------------------

port_free() { ! (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }

# The PID listening on a loopback TCP port, from ss.
listener_pid() { ss -Hltnp "sport = :$1" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n 1; }

wait_ready() {  # job pid, admin port, log file
    local job=$1 admin=$2 out=$3
    for _ in $(seq 150); do
        kill -0 "$job" 2> /dev/null || { cat "$out"; die "server exited before it became ready (log above)"; }
        [ "$(curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:$admin/readyz")" = 200 ] && return 0
        sleep 0.2
    done
    cat "$out"
    die "/readyz on port $admin not 200 within 30 s"
}

check_server() {  # label, redirect port, admin port
    local what=$1 port=$2 admin=$3 got metrics pid
    got=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$admin/healthz")
    [ "$got" = 200 ] || die "$what: /healthz answered $got"
    got=$(curl -s -o /dev/null -m 5 -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$port/v2/")
    [ "$got" = "302 https://$EXPECT_REGISTRY/v2/" ] || die "$what: GET /v2/ gave \"$got\", want 302 to https://$EXPECT_REGISTRY/v2/"
    # An X-Real-Ip from an untrusted peer must be ignored (and counted).
    got=$(curl -s -o /dev/null -m 5 -w '%{http_code} %{redirect_url}' -H 'X-Real-Ip: 203.0.113.7' \
        "http://127.0.0.1:$port/release/stable.txt")
    [ "$got" = "302 https://$EXPECT_ARTIFACTS/release/stable.txt" ] ||
        die "$what: GET /release/stable.txt gave \"$got\", want 302 to https://$EXPECT_ARTIFACTS/release/stable.txt"
    metrics=$(curl -s -m 5 "http://127.0.0.1:$admin/metrics")
    grep -q '^registry_redirector_requests_total{.*route="registry".*} [1-9]' <<< "$metrics" ||
        die "$what: /metrics has no registry_redirector_requests_total sample with a registry request counted"
    grep -q '^registry_redirector_client_ip_total{source="untrusted_header"} [1-9]' <<< "$metrics" ||
        die "$what: /metrics did not count the untrusted X-Real-Ip header"
    grep -q "^registry_redirector_build_info{revision=\"$revision\"," <<< "$metrics" ||
        die "$what: /metrics has no registry_redirector_build_info with revision=\"$revision\""
    grep -q '^process_resident_memory_bytes [1-9]' <<< "$metrics" ||
        die "$what: /metrics has no process_resident_memory_bytes"
    pid=$(listener_pid "$port")
    if [ -z "$pid" ] || [ "$(stat -c %u "/proc/$pid")" != "$RUNTIME_UID" ]; then
        die "$what: the listener on port $port does not run as UID $RUNTIME_UID"
    fi
    log "$what: ready, /healthz 200, 302 -> $EXPECT_REGISTRY and $EXPECT_ARTIFACTS, /metrics counted (revision $revision), UID $RUNTIME_UID"
}

stop_server() {  # label, job pid, redirect port
    local what=$1 job=$2 port=$3 pid started status=0
    pid=$(listener_pid "$port")
    started=$SECONDS
    # Signal the server itself: that is what the kubelet does (STOPSIGNAL).
    kill -TERM "${pid:-$job}"
    for _ in $(seq 250); do kill -0 "$job" 2> /dev/null || break; sleep 0.2; done
    kill -0 "$job" 2> /dev/null && die "$what: still running 50 s after SIGTERM"
    wait "$job" || status=$?
    server_pids=()  # one server at a time: nothing left to clean up
    [ "$status" = 0 ] || die "$what: exit status $status after SIGTERM, want 0"
    log "$what: SIGTERM -> exit 0 after $((SECONDS - started)) s"
}

for p in $((PORT_BASE)) $((PORT_BASE + 1)) $((PORT_BASE + 2)) $((PORT_BASE + 3)); do
    port_free "$p" || die "loopback port $p is in use; set PORT_BASE"
done

# Background jobs get their own process group, so cleanup can end each one
# (buildah and its children) by that id and nothing else.
set -m

container=$(buildah "${storage[@]}" from "$IMAGE")
buildah "${storage[@]}" run --isolation chroot "$container" -- \
    "$BINARY" serve --config "$CONFIG" \
    --listen "127.0.0.1:$PORT_BASE" --admin-listen "127.0.0.1:$((PORT_BASE + 1))" \
    > "$work/run.log" 2>&1 &
job=$!
server_pids+=("$job")
wait_ready "$job" $((PORT_BASE + 1)) "$work/run.log"
check_server "buildah run" "$PORT_BASE" $((PORT_BASE + 1))
stop_server "buildah run" "$job" "$PORT_BASE"

# readOnlyRootFilesystem: bind the container's root read-only in a private
# mount namespace (gone when the server exits), mount /proc in it as every
# container runtime does (the process_* metrics read it), and chroot into it
# as the image's numeric user.
rootfs=$(buildah "${storage[@]}" mount "$container")
# shellcheck disable=SC2016 # $1.. expand in the inner shell
unshare --mount --propagation private sh -c '
    mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && mount -t proc proc "$1/proc" || exit 97
    if touch "$1/.smoke-write-probe" 2> /dev/null; then echo "root is still writable" >&2; exit 98; fi
    exec chroot --userspec="$2:$2" "$1" "$3" serve --config "$4" --listen "$5" --admin-listen "$6"' \
    sh "$rootfs" "$RUNTIME_UID" "$BINARY" "$CONFIG" \
    "127.0.0.1:$((PORT_BASE + 2))" "127.0.0.1:$((PORT_BASE + 3))" > "$work/ro.log" 2>&1 &
job=$!
server_pids+=("$job")
wait_ready "$job" $((PORT_BASE + 3)) "$work/ro.log"
check_server "read-only root" $((PORT_BASE + 2)) $((PORT_BASE + 3))
stop_server "read-only root" "$job" $((PORT_BASE + 2))
set +m

# --- 5. report --------------------------------------------------------------

size=$(buildah "${storage[@]}" images --format '{{.Size}}' "$IMAGE" | head -n 1)
base_size=$(buildah "${storage[@]}" images --format '{{.Size}}' "$BASE_IMAGE" | head -n 1)
log "image $IMAGE: $size (base $BASE_IMAGE: $base_size)"
log "PASS in ${SECONDS}s (build ${build_seconds}s)"
