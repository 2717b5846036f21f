#!/usr/bin/env bash
# Where does the time of one request go? Profiles our server under wrk load
# with the full real table (loopback only, every run bounded in time).
#
#   bench/profile.sh [perf|callgrind|startup|all]
#
#   perf       perf record -g of the server process (cpu-clock sampling: the
#              VM has no hardware counters) under wrk -c50 and -c500, then the
#              top symbols by self time, user/kernel split and callers
#   callgrind  valgrind --tool=callgrind with instrumentation switched on only
#              while wrk runs (a few tens of thousands of requests): exact
#              user-space instruction counts per function, per request
#   startup    perf record -g of serve from exec to /readyz 200
#
# Environment: PROF_BIN (a build with symbols and frame pointers, default
# /tmp/build-prof/registry-redirector; make it with
#   cmake -S . -B /tmp/build-prof -G Ninja -DCMAKE_BUILD_TYPE=Release \
#         -DCMAKE_CXX_FLAGS="-g -fno-omit-frame-pointer" && ninja -C /tmp/build-prof registry-redirector),
# SHARED (../shared), TABLE, ASNS, BENCH_WORK, OUT, PERF_SECONDS [8], PERF_CONNS ["50 500"],
# CG_SECONDS [8]. The wrk address file and table come from
# bench/compare_nginx.sh tables (run that first).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
SHARED="${SHARED:-$(cd "$ROOT/../shared" 2>/dev/null && pwd || true)}"
BIN="${PROF_BIN:-/tmp/build-prof/registry-redirector}"
BENCH_WORK="${BENCH_WORK:-${TMPDIR:-/tmp}/redirector-bench}"
OUT="${OUT:-$BENCH_WORK/profile-$(date +%Y%m%d-%H%M%S)}"
TABLE="${TABLE:-$SHARED/data/prefixes/as-prefix_20260619.pfx2asn.tsv.gz}"
ASNS="${ASNS:-$ROOT/config/asns}"
ADDRS="$BENCH_WORK/realfull/addrs.txt"
PERF_SECONDS="${PERF_SECONDS:-8}"; CG_SECONDS="${CG_SECONDS:-8}"
PORT=18095; ADMIN=19095
die() { echo "profile: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "no binary at $BIN (see the header of this script)"
[ -s "$ADDRS" ] || die "no address file $ADDRS: run bench/compare_nginx.sh tables first"
mkdir -p "$OUT/conf"
# The config sits alone in its folder: serve watches that folder and would
# re-fingerprint its inputs each time perf or valgrind writes a file there.
CFG="$OUT/conf/full.yaml"
cat > "$CFG" <<EOF
listen: "127.0.0.1:$PORT"
admin_listen: "127.0.0.1:$ADMIN"
threads: 1
log_level: warn
providers_dir: $ASNS
prefixes:
  - $TABLE
default_provider: google
trusted_proxies: [127.0.0.0/8]
limits:
  max_requests_per_connection: 1000000
EOF

SERVER_PID=""
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}
trap stop_server EXIT
trap 'exit 130' INT TERM

ports_free() {
    if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/" || curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$ADMIN/"; then
        die "something already answers on 127.0.0.1:$PORT or :$ADMIN"
    fi
}

wait_ready() {  # seconds
    local deadline=$(( $(date +%s) + $1 ))
    until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$ADMIN/readyz" || true)" = 200 ]; do
        kill -0 "$SERVER_PID" 2>/dev/null || die "server exited (see $OUT)"
        [ "$(date +%s)" -lt "$deadline" ] || die "server not ready after $1 s"
        sleep 0.1
    done
}

load() {  # connections seconds outfile
    WRK_ADDRS="$ADDRS" timeout $(( $2 + 30 )) wrk -t1 -c"$1" -d"$2"s --latency -s "$SHARED/bench/wrk_xrealip.lua" \
        "http://127.0.0.1:$PORT/" > "$3" 2>&1 || true
}

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

perf_phase() {
    command -v perf >/dev/null || die "perf not installed (apt-get install linux-perf)"
    local c
    ports_free
    "$BIN" serve --config "$CFG" > "$OUT/perf-serve.log" 2>&1 &
    SERVER_PID=$!
    wait_ready 60
    for c in ${PERF_CONNS:-50 500}; do
        load "$c" 2 /dev/null  # warm up: connections, page cache, branch predictors
        local t0 t1
        t0=$(ticks "$SERVER_PID")
        load "$c" $(( PERF_SECONDS + 2 )) "$OUT/perf-wrk-c$c.txt" &
        local wrk_job=$!
        sleep 1
        timeout $(( PERF_SECONDS + 20 )) perf record -F 2999 -e cpu-clock -g -p "$SERVER_PID" -o "$OUT/perf-c$c.data" \
            -- sleep "$PERF_SECONDS" > /dev/null 2>&1 || true
        wait "$wrk_job"
        t1=$(ticks "$SERVER_PID")
        local n
        n=$(awk '/requests in/ {print $1}' "$OUT/perf-wrk-c$c.txt")
        set +o pipefail  # the reports end in head: a SIGPIPE upstream is fine
        {
            echo "### wrk -t1 -c$c: $(grep -E 'Requests/sec' "$OUT/perf-wrk-c$c.txt")  p99 $(awk '$1 == "99%" {print $2}' "$OUT/perf-wrk-c$c.txt")"
            python3 -c "import os,sys; print(f'server CPU per request: {(int(sys.argv[2]) - int(sys.argv[1])) / os.sysconf(\"SC_CLK_TCK\") * 1e6 / max(1, int(sys.argv[3])):.2f} us')" "$t0" "$t1" "${n:-0}"
            echo "#### user (.) vs kernel (k) share of samples"
            perf report -i "$OUT/perf-c$c.data" --no-children --sort sym -g none --stdio 2>/dev/null |
                awk '$1 ~ /%$/ {v = $1; sub("%", "", v); if ($2 == "[k]") k += v; else u += v} END {printf "user %.1f%%  kernel %.1f%%\n", u, k}'
            echo "#### top 40 symbols by self time"
            perf report -i "$OUT/perf-c$c.data" --no-children --sort dso,sym -g none --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40
            echo "#### inclusive time of our own functions"
            perf report -i "$OUT/perf-c$c.data" --children --sort sym -g none --stdio 2>/dev/null |
                grep -E 'registry_redirector::|basic_parser|scheduler::run|epoll_reactor|__libc_recv|__send|sendmsg|recvmsg' |
                grep -v '^#' | head -30
        } > "$OUT/perf-c$c.txt"
        set -o pipefail
        cat "$OUT/perf-c$c.txt"
    done
    stop_server
}

callgrind_phase() {
    command -v valgrind >/dev/null || die "valgrind not installed"
    ports_free
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/callgrind.out" \
        "$BIN" serve --config "$CFG" > "$OUT/callgrind-serve.log" 2>&1 &
    SERVER_PID=$!
    wait_ready 300
    load 50 1 /dev/null
    callgrind_control -i on "$SERVER_PID" > /dev/null
    load 50 "$CG_SECONDS" "$OUT/callgrind-wrk.txt"
    callgrind_control -i off "$SERVER_PID" > /dev/null
    stop_server
    local n
    n=$(awk '/requests in/ {print $1}' "$OUT/callgrind-wrk.txt")
    set +o pipefail
    {
        echo "### callgrind: $n requests (wrk -t1 -c50 -d${CG_SECONDS}s under valgrind)"
        callgrind_annotate "$OUT/callgrind.out" 2>/dev/null | awk -v n="$n" '
            /PROGRAM TOTALS/ { gsub(",", "", $1); printf "instructions per request (user space): %.0f\n", $1 / n }'
        echo "#### self (exclusive)"
        callgrind_annotate "$OUT/callgrind.out" 2>/dev/null | sed -n '/^Ir/,$p' | head -45
        echo "#### inclusive"
        callgrind_annotate --inclusive=yes "$OUT/callgrind.out" 2>/dev/null | sed -n '/^Ir/,$p' | head -60
    } > "$OUT/callgrind.txt"
    set -o pipefail
    cat "$OUT/callgrind.txt"
}

startup_phase() {
    command -v perf >/dev/null || die "perf not installed"
    ports_free
    perf record -F 4999 -e cpu-clock -g -o "$OUT/startup.data" -- "$BIN" serve --config "$CFG" \
        > "$OUT/startup-serve.log" 2>&1 &
    local perf_pid=$!
    for _ in $(seq 1 250); do
        SERVER_PID=$(pgrep -P "$perf_pid" | head -1 || true)
        [ -n "$SERVER_PID" ] && break
        sleep 0.02
    done
    if [ -z "$SERVER_PID" ]; then kill -INT "$perf_pid" 2>/dev/null || true; die "cannot find the server under perf"; fi
    wait_ready 60
    stop_server
    wait "$perf_pid" 2>/dev/null || true
    set +o pipefail
    {
        echo "### start-up (exec -> /readyz 200) by inclusive time"
        perf report -i "$OUT/startup.data" --children --sort sym -g none --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' |
            grep -E 'registry_redirector::|inflate|crc32|sort|sha256|YAML|_dl_|main' | head -40
        echo "#### self"
        perf report -i "$OUT/startup.data" --no-children --sort dso,sym -g none --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -30
    } > "$OUT/startup.txt"
    set -o pipefail
    cat "$OUT/startup.txt"
}

what="${1:-all}"
case "$what" in
    perf) perf_phase;;
    callgrind) callgrind_phase;;
    startup) startup_phase;;
    all) perf_phase; callgrind_phase; startup_phase;;
    *) sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2;;
esac
echo "profile data: $OUT"
