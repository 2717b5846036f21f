#!/usr/bin/env bash
# registry-redirector against the NGINX geo peer, both with the full real
# table (~1.45M prefixes), side by side on this machine (loopback only).
#
#   bench/compare_nginx.sh [all|tables|startup|check|throughput|tls]...
#
#   tables      make the full and reduced tables, the wrk address file and
#               our configs (cached in $BENCH_WORK; ~40 s the first time)
#   startup     STARTS alternating cold starts of each: NGINX ready_s (nginx
#               exec -> first 302, from run_nginx_peer.sh) and ours (exec ->
#               /readyz 200); memory of each right after start
#   check       peers/check_redirects.py against OUR server: full table vs
#               the --full oracle, shipped reduced table vs the reduced
#               oracle, and the full-table server vs the reduced oracle
#   throughput  compare.sh (wrk, A/B alternating, ROUNDS rounds) ours vs
#               NGINX for threads/workers in THREADS_LIST and connections in
#               CONNS_LIST; memory (VmRSS, VmHWM, PSS) before and after load
#   tls         HTTPS, one server thread / one NGINX worker, full table, the
#               same self-signed ECDSA P-256 certificate and Mozilla
#               "intermediate" ciphers on both: keep-alive req/s (compare.sh,
#               wrk -c$TLS_CONNS) and new handshakes/s (every request with
#               Connection: close, so one full handshake each), then CPU time
#               per request of each server in both modes. Not part of `all`.
#   all         (default) all of the above except tls, then a summary
#   summary     only the summary of an earlier run (set OUT to its folder)
#
# Environment (defaults in brackets):
#   REDIRECTOR_BIN  our binary [/tmp/build-bench/registry-redirector]; build it with
#                   cmake -S . -B /tmp/build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C /tmp/build-bench
#   SHARED          the shared folder with bench/, peers/, data/ [../shared beside the project]
#   TABLE           whole-Internet prefix table [$SHARED/data/prefixes/as-prefix_20260619.pfx2asn.tsv.gz]
#   ASNS            provider files [config/asns]
#   BENCH_WORK      generated files [${TMPDIR:-/tmp}/redirector-bench]
#   OUT             this run's results [$BENCH_WORK/compare-DATE]
#   DUR [10s] ROUNDS [5] WARMUP [2] CONNS_LIST ["50 500"] THREADS_LIST ["1 2"]
#   WRK_THREADS [match]  as many wrk threads as server threads/workers, or a
#                    number for every run (one wrk thread tops out near 185k
#                    req/s here, which caps a 2-thread comparison at -t1)
#   STARTS [3]  CHECK_N [50000]  CHECK_TIMEOUT [900] seconds per checker run
#   CPU_DUR [5s]  length of the wrk run per server for CPU time per request
#   TLS_CONNS [50]  wrk connections in the tls phase (both modes)
#   TLS_WRK_THREADS [1]  wrk threads in the tls phase: one wrk thread decrypting
#                   every response is the bottleneck of the keep-alive run
#                   (~80k req/s here); 2 lets the servers' cost show
#   QUIET_WAIT [0]  before each timed phase, wait up to this many seconds for the
#                   machine to be idle (CPU busy < QUIET_BUSY [15] % over 2 s);
#                   the machine is shared, and other jobs skew A/B runs
# Load generation: 4 compare.sh runs of (2 x WARMUP + 2 x ROUNDS x DUR + pauses),
# about 8 minutes with the defaults; the whole script about 15 minutes.
# Every server this script starts is stopped on exit (trap), by its own pid.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
SHARED="${SHARED:-$(cd "$ROOT/../shared" 2>/dev/null && pwd || true)}"
BIN="${REDIRECTOR_BIN:-/tmp/build-bench/registry-redirector}"
export BENCH_WORK="${BENCH_WORK:-${TMPDIR:-/tmp}/redirector-bench}"
W="$BENCH_WORK"
OUT="${OUT:-$W/compare-$(date +%Y%m%d-%H%M%S)}"
TABLE="${TABLE:-$SHARED/data/prefixes/as-prefix_20260619.pfx2asn.tsv.gz}"
ASNS="${ASNS:-$ROOT/config/asns}"
DUR="${DUR:-10s}"; export ROUNDS="${ROUNDS:-5}"; export WARMUP="${WARMUP:-2}"
CONNS_LIST="${CONNS_LIST:-50 500}"; THREADS_LIST="${THREADS_LIST:-1 2}"; WRK_THREADS="${WRK_THREADS:-match}"
STARTS="${STARTS:-3}"; CHECK_N="${CHECK_N:-50000}"; CHECK_TIMEOUT="${CHECK_TIMEOUT:-900}"
READY_TIMEOUT=60
QUIET_WAIT="${QUIET_WAIT:-0}"; QUIET_BUSY="${QUIET_BUSY:-15}"

PEER="$SHARED/bench/run_nginx_peer.sh"
MAKE_TABLE="$SHARED/peers/make_table.py"
FULL="$W/realfull"      # make_table.py from-asns --full
REDUCED="$W/real"       # make_table.py from-asns
ADDRS="$FULL/addrs.txt"
SHIPPED_CONFIG="$ROOT/config/redirector.yaml"

# Ports (loopback only): ours redirect/admin, NGINX peers.
ours_port() { echo $((18090 + $1)); }     # $1: slot 1, 2 (threads), 3 (reduced) or 4 (tls)
ours_admin() { echo $((19090 + $1)); }
nginx_port() { echo $((18080 + $1)); }
ours_tls_port() { echo $((18440 + $1)); }
nginx_tls_port() { echo $((18450 + $1)); }
TLS_CONNS="${TLS_CONNS:-50}"; TLS_WRK_THREADS="${TLS_WRK_THREADS:-1}"

die() { echo "compare_nginx: $*" >&2; exit 1; }
log() { echo "== $*" | tee -a "$OUT/run.log"; }
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"; }

[ -n "$SHARED" ] && [ -x "$PEER" ] || die "shared folder not found (set SHARED=.../shared)"
[ -x "$BIN" ] || die "no binary at $BIN (set REDIRECTOR_BIN, or build: see the header of this script)"
for c in nginx wrk curl python3 openssl; do command -v "$c" >/dev/null || die "$c not installed"; done
mkdir -p "$OUT" "$W/ours"

# --- server bookkeeping: everything we start is stopped on exit -------------
OURS_PIDS=()       # pids of our servers still running
NGINX_PEERS=()     # names of NGINX peers still running

stop_ours() {  # pid: TERM drains (bounded), a second TERM exits at once, KILL last
    local pid="$1" i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local kept=() p
    for p in "${OURS_PIDS[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
    OURS_PIDS=("${kept[@]}")
}

stop_nginx() {
    "$PEER" stop "$1" >/dev/null 2>&1 || true
    local kept=() p
    for p in "${NGINX_PEERS[@]}"; do [ "$p" = "$1" ] || kept+=("$p"); done
    NGINX_PEERS=("${kept[@]}")
}

cleanup() {
    local p
    for p in "${OURS_PIDS[@]}"; do stop_ours "$p"; done
    for p in "${NGINX_PEERS[@]}"; do stop_nginx "$p"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cpu_busy() {  # percent of all CPUs busy over 2 s
    local a b
    read -ra a < /proc/stat; sleep 2; read -ra b < /proc/stat
    python3 -c "
import sys
a, b = [list(map(int, x.split())) for x in sys.argv[1:3]]
d = [y - x for x, y in zip(a, b)]
idle = d[3] + d[4]
print(round(100 * (1 - idle / max(1, sum(d)))))" "${a[*]:1}" "${b[*]:1}"
}

wait_quiet() {  # label
    [ "$QUIET_WAIT" -gt 0 ] || return 0
    local deadline busy
    deadline=$(( $(date +%s) + QUIET_WAIT ))
    while :; do
        busy=$(cpu_busy)
        [ "$busy" -lt "$QUIET_BUSY" ] && break
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "($1: machine still ${busy}% busy after ${QUIET_WAIT}s; going on)" | tee -a "$OUT/run.log"
            return 0
        fi
        sleep 5
    done
    echo "($1: machine ${busy}% busy before start)" | tee -a "$OUT/run.log"
}

# --- tables and configs -------------------------------------------------------
write_config() {  # file prefix-table slot
    cat > "$1" <<EOF
# generated by bench/compare_nginx.sh
listen: "127.0.0.1:$(ours_port "$3")"
admin_listen: "127.0.0.1:$(ours_admin "$3")"
threads: 1
log_level: info
providers_dir: $ASNS
prefixes:
  - $2
default_provider: google
trusted_proxies: [127.0.0.0/8]
limits:
  max_requests_per_connection: 1000000   # = nginx keepalive_requests of the peer
EOF
}

tables() {
    [ -s "$TABLE" ] || die "prefix table $TABLE not found"
    if [ ! -s "$FULL/prefixes.tsv" ]; then
        log "make_table.py from-asns --full (about 20 s)"
        python3 "$MAKE_TABLE" from-asns --full --asns "$ASNS" --table "$TABLE" --out-dir "$FULL"
    fi
    if [ ! -s "$REDUCED/prefixes.tsv" ]; then
        log "make_table.py from-asns (reduced, about 20 s)"
        python3 "$MAKE_TABLE" from-asns --asns "$ASNS" --table "$TABLE" --out-dir "$REDUCED"
    fi
    if [ ! -s "$ADDRS" ]; then
        python3 "$MAKE_TABLE" addrs --prefixes "$FULL/prefixes.tsv" --count 100000 --seed 1 -o "$ADDRS"
    fi
    write_config "$W/ours/full.yaml" "$TABLE" 1
    # The shipped config, with the shipped reduced table, made to trust
    # loopback (the checker speaks for its clients with X-Real-Ip).
    local shipped_table
    shipped_table=$(sed -n 's/^  - \(prefixes\/.*\)$/\1/p' "$SHIPPED_CONFIG" | head -1)
    write_config "$W/ours/reduced.yaml" "$ROOT/config/$shipped_table" 3
    "$BIN" check --config "$W/ours/full.yaml" > "$OUT/check-full-config.txt" || die "our binary rejects $W/ours/full.yaml"
    "$BIN" check --config "$W/ours/reduced.yaml" > "$OUT/check-reduced-config.txt" || die "our binary rejects $W/ours/reduced.yaml"
    grep -h '^routing table' "$OUT"/check-*-config.txt | tee -a "$OUT/run.log"
}

# --- starting and measuring ---------------------------------------------------
LAST_PID=""; LAST_READY=""
start_ours() {  # name config slot threads [extra serve args...]
    local name="$1" cfg="$2" slot="$3" threads="$4"; shift 4
    local port admin t0 t1 code deadline
    port=$(ours_port "$slot"); admin=$(ours_admin "$slot")
    if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/" 2>/dev/null; then
        die "something already answers on 127.0.0.1:$port"
    fi
    t0=$(now)
    # In a session of its own, as the NGINX master makes itself (daemon):
    # with the kernel's autogroup scheduling (/proc/sys/kernel/
    # sched_autogroup_enabled, 1 here) a session's processes share one CPU share,
    # so ours started in this script's session would share wrk's while
    # NGINX had a share of its own; on a busy machine that alone cut our
    # new-TLS-connection rate to 0.5-0.9x of NGINX's. (setsid execs in
    # place here: a background job of a script leads no process group.)
    setsid "$BIN" serve --config "$cfg" --threads "$threads" --listen "127.0.0.1:$port" \
        --admin-listen "127.0.0.1:$admin" "$@" > "$OUT/ours-$name.log" 2>&1 < /dev/null &
    LAST_PID=$!
    OURS_PIDS+=("$LAST_PID")
    deadline=$(( $(date +%s) + READY_TIMEOUT ))
    while :; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$admin/readyz" || true)
        [ "$code" = 200 ] && break
        kill -0 "$LAST_PID" 2>/dev/null || { cat "$OUT/ours-$name.log" >&2; die "our server $name exited"; }
        [ "$(date +%s)" -lt "$deadline" ] || die "our server $name not ready after ${READY_TIMEOUT}s"
        sleep 0.02
    done
    t1=$(now)
    LAST_READY=$(elapsed "$t0" "$t1")
}

mem_ours() {  # pid -> "rss_kib hwm_kib pss_kib"
    local rss hwm pss
    rss=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status")
    hwm=$(awk '$1 == "VmHWM:" {print $2}' "/proc/$1/status")
    pss=$(awk '$1 == "Pss:" {print $2}' "/proc/$1/smaps_rollup")
    echo "$rss $hwm $pss"
}

start_nginx() {  # name prefixes-dir slot workers [render.py args...]: report in $OUT/nginx-NAME.txt
    local name="$1" dir="$2" slot="$3" workers="$4"; shift 4
    NGINX_PEERS+=("$name")
    "$PEER" start "$name" --prefixes "$dir/prefixes.tsv" --providers "$dir/providers.tsv" \
        --port "$(nginx_port "$slot")" --workers "$workers" "$@" > "$OUT/nginx-$name.txt" 2>&1 \
        || { cat "$OUT/nginx-$name.txt" >&2; die "NGINX peer $name did not start"; }
}

mem_nginx() {  # name -> "largest_rss master_rss total_pss" (KiB) from run_nginx_peer.sh status
    "$PEER" status "$1" | awk '
        /^master/ { for (i = 1; i <= NF; i++) if ($i ~ /^RSS=/) { split($i, a, "="); m = a[2] } }
        /^worker/ { for (i = 1; i <= NF; i++) if ($i ~ /^RSS=/) { split($i, a, "="); if (a[2] > w) w = a[2] } }
        /^total/  { split($2, a, "="); p = a[2] }
        END { print (w > m ? w : m), m, p }'
}

# memory.txt: WHEN WHO KIND RSS X PSS (KiB). ours: VmRSS, VmHWM, PSS of the
# process; NGINX: largest VmRSS of one process (a worker), master VmRSS, and
# total PSS of master + workers (they share the table copy-on-write).
record_mem() {  # when who ours|nginx pid|peer-name
    local m
    # /readyz turns 200 when the table is published; the parse buffers are
    # handed back (malloc_trim) just after: let that happen first.
    case "$1" in fresh*) sleep 0.5;; esac
    if [ "$3" = ours ]; then m=$(mem_ours "$4"); else m=$(mem_nginx "$4"); fi
    echo "$1 $2 $3 $m" >> "$OUT/memory.txt"
}

# --- phases --------------------------------------------------------------------
startup() {
    local i line
    wait_quiet startup
    log "startup: $STARTS alternating cold starts, full table, 1 worker / 1 thread"
    : > "$OUT/startup.txt"
    for i in $(seq 1 "$STARTS"); do
        start_nginx su-nginx "$FULL" 9 1
        mv "$OUT/nginx-su-nginx.txt" "$OUT/startup-nginx-$i.txt"
        line=$(sed -n 's/.*ready_s=\([0-9.]*\).*/\1/p' "$OUT/startup-nginx-$i.txt")
        echo "nginx $i $line" >> "$OUT/startup.txt"
        record_mem "fresh-startup-$i" nginx nginx su-nginx
        stop_nginx su-nginx
        start_ours su-$i "$W/ours/full.yaml" 9 1
        echo "ours $i $LAST_READY $(grep -o 'loaded in [0-9.]* s' "$OUT/ours-su-$i.log" | head -1 | awk '{print $3}')" \
            >> "$OUT/startup.txt"
        record_mem "fresh-startup-$i" ours ours "$LAST_PID"
        stop_ours "$LAST_PID"
    done
    cat "$OUT/startup.txt" | tee -a "$OUT/run.log"
}

CHECK_STARTED=0
start_main_servers() {
    [ "$CHECK_STARTED" = 1 ] && return
    local t
    log "starting the servers under test"
    for t in $THREADS_LIST; do
        start_ours "full-t$t" "$W/ours/full.yaml" "$t" "$t"
        eval "OURS_T$t=$LAST_PID"
        echo "ours full t$t ready in ${LAST_READY}s" | tee -a "$OUT/run.log"
        record_mem fresh "ours-full-t$t" ours "$LAST_PID"
        start_nginx "nginx-full-w$t" "$FULL" "$t" "$t"
        grep -E '^(config_load|total)' "$OUT/nginx-nginx-full-w$t.txt" | sed "s/^/nginx full w$t /" | tee -a "$OUT/run.log"
        record_mem fresh "nginx-full-w$t" nginx "nginx-full-w$t"
    done
    CHECK_STARTED=1
}

check() {
    start_main_servers
    local first rc=0 reduced_pid
    first=$(echo "$THREADS_LIST" | awk '{print $1}')
    log "check: ours (full table, $first thread(s)) vs oracle from make_table.py from-asns --full"
    timeout "$CHECK_TIMEOUT" python3 "$SHARED/peers/check_redirects.py" "http://127.0.0.1:$(ours_port "$first")" \
        --prefixes "$FULL/prefixes.tsv" --providers "$FULL/providers.tsv" -n "$CHECK_N" \
        > "$OUT/check-full.txt" 2>&1 || rc=1
    tail -3 "$OUT/check-full.txt" | tee -a "$OUT/run.log"
    log "check: ours (shipped reduced table) vs oracle from make_table.py from-asns"
    start_ours reduced "$W/ours/reduced.yaml" 3 1
    reduced_pid=$LAST_PID
    record_mem fresh ours-reduced-t1 ours "$reduced_pid"
    start_nginx nginx-reduced-w1 "$REDUCED" 3 1
    record_mem fresh nginx-reduced-w1 nginx nginx-reduced-w1
    stop_nginx nginx-reduced-w1
    timeout "$CHECK_TIMEOUT" python3 "$SHARED/peers/check_redirects.py" "http://127.0.0.1:$(ours_port 3)" \
        --prefixes "$REDUCED/prefixes.tsv" --providers "$REDUCED/providers.tsv" -n "$CHECK_N" \
        > "$OUT/check-reduced.txt" 2>&1 || rc=1
    tail -3 "$OUT/check-reduced.txt" | tee -a "$OUT/run.log"
    # The shipped config as shipped (threads 0 = one per core, no trusted
    # proxies), for its memory only.
    stop_ours "$reduced_pid"
    start_ours shipped "$SHIPPED_CONFIG" 3 0
    record_mem fresh ours-shipped-config-t0 ours "$LAST_PID"
    stop_ours "$LAST_PID"
    log "check: ours (full table) vs the reduced oracle (reduction must not change any answer)"
    timeout "$CHECK_TIMEOUT" python3 "$SHARED/peers/check_redirects.py" "http://127.0.0.1:$(ours_port "$first")" \
        --prefixes "$REDUCED/prefixes.tsv" --providers "$REDUCED/providers.tsv" -n "$((CHECK_N / 5))" --seed 11 \
        > "$OUT/check-full-vs-reduced-oracle.txt" 2>&1 || rc=1
    tail -3 "$OUT/check-full-vs-reduced-oracle.txt" | tee -a "$OUT/run.log"
    [ "$rc" = 0 ] || echo "compare_nginx: the checker found mismatches; see $OUT/check-*.txt" | tee -a "$OUT/run.log"
}

cpu_ticks() {  # pids... -> "utime stime" summed (clock ticks, all threads)
    local p
    for p in "$@"; do awk '{print $14, $15}' "/proc/$p/stat"; done | awk '{u += $1; s += $2} END {print u + 0, s + 0}'
}

# Server CPU time per request (user and system), from /proc over one wrk run:
# less sensitive to a noisy neighbour than requests/s.
cpu_per_request() {  # label url pids... (wrk script: $CPU_SCRIPT, default the shared one)
    local label="$1" url="$2"; shift 2
    local before after n
    before=$(cpu_ticks "$@")
    WRK_ADDRS="$ADDRS" WRK_BASE_SCRIPT="$SHARED/bench/wrk_xrealip.lua" timeout 60 \
        wrk -t1 -c50 -d"${CPU_DUR:-5s}" -s "${CPU_SCRIPT:-$SHARED/bench/wrk_xrealip.lua}" "$url" \
        > "$OUT/cpu-$label.txt" 2>&1 || true
    after=$(cpu_ticks "$@")
    n=$(awk '/requests in/ {print $1}' "$OUT/cpu-$label.txt")
    python3 -c "
import os, sys
label, n = sys.argv[1], int(sys.argv[2] or 0)
b, a = [list(map(int, x.split())) for x in sys.argv[3:5]]
hz = os.sysconf('SC_CLK_TCK')
us = [(a[i] - b[i]) / hz * 1e6 / max(n, 1) for i in (0, 1)]
print(f'{label} {n} {us[0]:.2f} {us[1]:.2f} {us[0] + us[1]:.2f}')" "$label" "$n" "$before" "$after" >> "$OUT/cpu.txt"
}

throughput() {
    start_main_servers
    local t c pid
    for t in $THREADS_LIST; do
        for c in $CONNS_LIST; do
            wait_quiet "throughput t$t c$c"
            local wt="$WRK_THREADS"
            [ "$wt" = match ] && wt="$t"
            log "throughput: ours t$t vs NGINX w$t, wrk -t$wt -c$c -d$DUR, $ROUNDS rounds"
            A_NAME="ours-t$t" B_NAME="nginx-geo-w$t" WRK_ADDRS="$ADDRS" OUT_DIR="$OUT/wrk-t$t-c$c" \
                timeout 1800 "$SHARED/bench/compare.sh" "http://127.0.0.1:$(ours_port "$t")/" \
                "http://127.0.0.1:$(nginx_port "$t")/" "$DUR" "$c" "$wt" | tee "$OUT/tp-t$t-c$c.txt"
        done
    done
    wait_quiet "cpu per request"
    log "server CPU time per request (wrk -t1 -c50 -d${CPU_DUR:-5s}, from /proc/PID/stat)"
    for t in $THREADS_LIST; do
        pid=$(eval "echo \${OURS_T$t:-}")
        cpu_per_request "ours-t$t" "http://127.0.0.1:$(ours_port "$t")/" "$pid"
        local master workers
        master=$(cat "$W/peers/nginx-full-w$t/peer.pid")
        mapfile -t workers < <(ps -o pid= --ppid "$master" | tr -d ' ')
        cpu_per_request "nginx-w$t" "http://127.0.0.1:$(nginx_port "$t")/" "$master" "${workers[@]}"
    done
    cat "$OUT/cpu.txt" | tee -a "$OUT/run.log"
    for t in $THREADS_LIST; do
        pid=$(eval "echo \${OURS_T$t:-}")
        [ -n "$pid" ] && record_mem after-load "ours-full-t$t" ours "$pid"
        record_mem after-load "nginx-full-w$t" nginx "nginx-full-w$t"
    done
}

# --- TLS ------------------------------------------------------------------------
# One certificate for both servers: ECDSA P-256 (the cheapest handshake),
# self-signed for 127.0.0.1; wrk does not verify.
tls_material() {
    local d="$W/tls"
    mkdir -p "$d"
    if [ ! -s "$d/tls.crt" ]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
            -keyout "$d/tls.key" -out "$d/tls.crt" -subj /CN=bench.test \
            -addext "subjectAltName=DNS:bench.test,IP:127.0.0.1" 2>/dev/null || die "openssl req failed"
    fi
}

tls() {
    tls_material
    local slot=4 ciphers pid master workers
    # Our built-in TLS 1.2 list (README "TLS") for both; both use OpenSSL's
    # default TLS 1.3 suites, which are ours.
    ciphers=$(sed -n '/inline constexpr const char\* ciphers =/,/;/p' \
        "$ROOT/include/registry_redirector/http/tls_context.hpp" | grep -o '"[^"]*"' | tr -d '"\n')
    [ -n "$ciphers" ] || die "cannot read the default cipher list from tls_context.hpp"
    write_config "$W/ours/tls.yaml" "$TABLE" "$slot"
    {
        echo "tls_listen: \"127.0.0.1:$(ours_tls_port 1)\""
        echo "tls:"
        echo "  certificate: $W/tls/tls.crt"
        echo "  private_key: $W/tls/tls.key"
    } >> "$W/ours/tls.yaml"
    wait_quiet "tls start"
    log "tls: ours (1 thread, full table, tls_listen) vs NGINX (1 worker, same table, listen ssl), same certificate"
    start_ours tls "$W/ours/tls.yaml" "$slot" 1
    pid=$LAST_PID
    # NGINX: the peer's own server block stays (the readiness check uses it);
    # a second one speaks TLS with the same certificate and cipher list.
    start_nginx nginx-tls-w1 "$FULL" "$slot" 1 --extra-http "
    server {
        listen 127.0.0.1:$(nginx_tls_port 1) ssl backlog=4096;
        server_name _;
        ssl_certificate $W/tls/tls.crt;
        ssl_certificate_key $W/tls/tls.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers $ciphers;
        ssl_prefer_server_ciphers off;
        ssl_session_tickets on;
        location = /v2 { return 302 https://\$registry_host\$request_uri; }
        location /v2/ { return 302 https://\$registry_host\$request_uri; }
        location / { return 302 https://\$artifacts_host\$request_uri; }
    }"
    master=$(cat "$W/peers/nginx-tls-w1/peer.pid")
    mapfile -t workers < <(ps -o pid= --ppid "$master" | tr -d ' ')
    local ours_url="https://127.0.0.1:$(ours_tls_port 1)/" nginx_url="https://127.0.0.1:$(nginx_tls_port 1)/"
    curl -sk -o /dev/null -w "ours HTTPS: %{http_code}\n" "${ours_url}v2/" | tee -a "$OUT/run.log"
    curl -sk -o /dev/null -w "nginx HTTPS: %{http_code}\n" "${nginx_url}v2/" | tee -a "$OUT/run.log"
    wait_quiet "tls keep-alive"
    log "tls keep-alive: wrk -t$TLS_WRK_THREADS -c$TLS_CONNS -d$DUR, $ROUNDS rounds"
    A_NAME="ours-tls-t1" B_NAME="nginx-tls-w1" WRK_ADDRS="$ADDRS" OUT_DIR="$OUT/wrk-tls-keepalive" \
        timeout 1800 "$SHARED/bench/compare.sh" "$ours_url" "$nginx_url" "$DUR" "$TLS_CONNS" "$TLS_WRK_THREADS" | tee "$OUT/tls-keepalive.txt"
    wait_quiet "tls handshakes"
    log "tls new handshakes (Connection: close on every request): wrk -t$TLS_WRK_THREADS -c$TLS_CONNS -d$DUR, $ROUNDS rounds"
    A_NAME="ours-tls-t1" B_NAME="nginx-tls-w1" WRK_ADDRS="$ADDRS" OUT_DIR="$OUT/wrk-tls-handshakes" \
        WRK_SCRIPT="$HERE/wrk_xrealip_close.lua" WRK_BASE_SCRIPT="$SHARED/bench/wrk_xrealip.lua" \
        timeout 1800 "$SHARED/bench/compare.sh" "$ours_url" "$nginx_url" "$DUR" "$TLS_CONNS" "$TLS_WRK_THREADS" | tee "$OUT/tls-handshakes.txt"
    # wrk resumes sessions (TLS 1.3 tickets): its "new handshakes" are mostly
    # resumptions, each still a fresh X25519 exchange. openssl s_time -new
    # makes full handshakes only (certificate signature included), one
    # connection at a time, alternating A B A B.
    wait_quiet "tls full handshakes"
    log "tls full handshakes: openssl s_time -new -time ${STIME_DUR:-5}, $ROUNDS rounds each, alternating"
    : > "$OUT/tls-s_time.txt"
    local r
    for r in $(seq 1 "$ROUNDS"); do
        for side in ours nginx; do
            local port
            [ "$side" = ours ] && port=$(ours_tls_port 1) || port=$(nginx_tls_port 1)
            echo "$r $side $(timeout 60 openssl s_time -connect "127.0.0.1:$port" -new -time "${STIME_DUR:-5}" -www /v2/ 2>/dev/null \
                | awk '/real seconds/ {if ($4 > 0) printf "%.1f", $1 / $4}')" | tee -a "$OUT/tls-s_time.txt"
        done
    done
    curl -s "http://127.0.0.1:$(ours_admin "$slot")/metrics" | grep '^registry_redirector_tls_handshakes_total' \
        | grep -v ' 0$' | tee "$OUT/tls-handshake-metrics.txt" | tee -a "$OUT/run.log" || true
    log "server CPU time per request over TLS (wrk -t1 -c50 -d${CPU_DUR:-5s})"
    cpu_per_request "ours-tls-keepalive" "$ours_url" "$pid"
    cpu_per_request "nginx-tls-keepalive" "$nginx_url" "$master" "${workers[@]}"
    CPU_SCRIPT="$HERE/wrk_xrealip_close.lua" cpu_per_request "ours-tls-handshake" "$ours_url" "$pid"
    CPU_SCRIPT="$HERE/wrk_xrealip_close.lua" cpu_per_request "nginx-tls-handshake" "$nginx_url" "$master" "${workers[@]}"
    tail -4 "$OUT/cpu.txt" | tee -a "$OUT/run.log"
    record_mem after-tls-load ours-tls-t1 ours "$pid"
    record_mem after-tls-load nginx-tls-w1 nginx nginx-tls-w1
    stop_ours "$pid"
    stop_nginx nginx-tls-w1
}

summary() {
    TLS_WRK_THREADS="$TLS_WRK_THREADS" python3 - "$OUT" <<'EOF'
import glob, os, re, statistics, sys
out = sys.argv[1]
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)$", v)
    if not m: return float("nan")
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
lines = []
p = lambda s="": lines.append(s)
tps = sorted(glob.glob(os.path.join(out, "tp-t*-c*.txt")),
             key=lambda f: tuple(int(x) for x in re.findall(r"t(\d+)-c(\d+)", f)[0]))
if tps:
    p("| threads/workers | wrk -c | ours req/s (median) | NGINX req/s (median) | median ratio ours/NGINX | median(ours)/median(NGINX) | ours p99 (median) | NGINX p99 (median) | errors, non-3xx | load before -> after |")
    p("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
for f in tps:
    t, c = re.findall(r"t(\d+)-c(\d+)", f)[0]
    rps = {"A": [], "B": []}; p99 = {"A": [], "B": []}; bad = 0; before = after = "?"; mr = "?"
    for line in open(f):
        f_ = line.split()
        if len(f_) == 7 and f_[1] in ("A", "B") and f_[0].isdigit():
            rps[f_[1]].append(float(f_[2])); p99[f_[1]].append(ms(f_[4])); bad += int(f_[5]) + int(f_[6])
        if line.startswith("load before:"): before = line.split(":", 1)[1].strip()
        if line.startswith("load after:"): after = line.split(":", 1)[1].strip()
        m = re.match(r"median ratio A/B: ([\d.]+)", line)
        if m: mr = m.group(1)
    if not rps["A"] or not rps["B"]: continue
    ma, mb = statistics.median(rps["A"]), statistics.median(rps["B"])
    pa, pb = statistics.median(p99["A"]), statistics.median(p99["B"])
    p(f"| {t} | {c} | {ma:,.0f} | {mb:,.0f} | {mr} | {ma/mb:.3f} | {pa:.2f} ms | {pb:.2f} ms | {bad} | {before} -> {after} |")
for label, name, target in (("TLS keep-alive req/s", "tls-keepalive.txt", 1.3),
                             ("TLS new handshakes/s (Connection: close)", "tls-handshakes.txt", 1.0)):
    f = os.path.join(out, name)
    if not os.path.exists(f): continue
    rows = [l.split() for l in open(f) if len(l.split()) == 7 and l.split()[0].isdigit()]
    a = [float(r[2]) for r in rows if r[1] == "A"]; b = [float(r[2]) for r in rows if r[1] == "B"]
    m = re.search(r"median ratio A/B: ([\d.]+)", open(f).read())
    if a and b:
        p()
        p(f"{label}, 1 thread / 1 worker, wrk -t{os.environ.get('TLS_WRK_THREADS', '1')}: ours {statistics.median(a):,.0f}, NGINX {statistics.median(b):,.0f}; "
          f"median ratio {m.group(1) if m else '?'} (>= {target}? "
          f"{'MET' if m and float(m.group(1)) >= target else 'NOT MET'}); rounds: ours {', '.join(f'{x:,.0f}' for x in a)}; "
          f"NGINX {', '.join(f'{x:,.0f}' for x in b)}")
st = os.path.join(out, "tls-s_time.txt")
if os.path.exists(st):
    rows = [l.split() for l in open(st) if len(l.split()) == 3]
    o = [float(r[2]) for r in rows if r[1] == "ours"]; n = [float(r[2]) for r in rows if r[1] == "nginx"]
    if o and n:
        p()
        p(f"TLS full handshakes/s (openssl s_time -new, one connection at a time): ours "
          f"{statistics.median(o):,.0f}, NGINX {statistics.median(n):,.0f}; ratio {statistics.median(o) / statistics.median(n):.3f}")
su = os.path.join(out, "startup.txt")
if os.path.exists(su):
    rows = [l.split() for l in open(su) if l.strip()]
    ng = [float(r[2]) for r in rows if r[0] == "nginx" and len(r) > 2 and r[2]]
    ou = [float(r[2]) for r in rows if r[0] == "ours" and len(r) > 2]
    lo = [float(r[3]) for r in rows if r[0] == "ours" and len(r) > 3]
    p()
    if ng and ou:
        p(f"start-up, full table (median of {len(ou)}): ours exec -> /readyz 200 {statistics.median(ou):.3f} s "
          f"(table load as logged {statistics.median(lo) if lo else float('nan'):.3f} s); NGINX ready_s {statistics.median(ng):.3f} s; "
          f"ratio ours/NGINX {statistics.median(ou) / statistics.median(ng):.2f}")
cpu = os.path.join(out, "cpu.txt")
if os.path.exists(cpu):
    p()
    p("| server | requests | user µs/request | system µs/request | total CPU µs/request |")
    p("| --- | ---: | ---: | ---: | ---: |")
    for l in open(cpu):
        r = l.split()
        if len(r) == 5: p(f"| {r[0]} | {int(r[1]):,} | {r[2]} | {r[3]} | {r[4]} |")
mem = os.path.join(out, "memory.txt")
fresh_full = {}
if os.path.exists(mem):
    p()
    p("| when | server | RSS MiB | HWM (ours) / master RSS (NGINX) MiB | PSS MiB |")
    p("| --- | --- | ---: | ---: | ---: |")
    agg = {}
    for l in open(mem):
        r = l.split()
        if len(r) < 6: continue
        when, who, kind = r[0], r[1], r[2]
        vals = [int(x) / 1024 if x.isdigit() else float("nan") for x in r[3:6]]
        if when.startswith("fresh-startup-"):
            agg.setdefault(kind, []).append(vals); continue
        if when == "fresh" and "-full-" in who: fresh_full.setdefault(kind, []).append(vals)
        p(f"| {when} | {who} | {vals[0]:.1f} | {vals[1]:.1f} | {vals[2]:.1f} |")
    for kind, v in agg.items():
        med = [statistics.median(x[i] for x in v) for i in range(3)]
        fresh_full.setdefault(kind, []).append(med)
        p(f"| fresh, median of {len(v)} starts | {kind}-full, 1 thread/worker | {med[0]:.1f} | {med[1]:.1f} | {med[2]:.1f} |")
    p("RSS: ours = VmRSS of the process; NGINX = the largest VmRSS of one of its processes (a worker). "
      "PSS: ours = the process; NGINX = master + workers.")
# Targets of the issue.
p()
p("Targets:")
for f in tps:
    t, c = re.findall(r"t(\d+)-c(\d+)", f)[0]
    txt = open(f).read()
    m = re.search(r"median ratio A/B: ([\d.]+)", txt)
    rows = [l.split() for l in txt.splitlines() if len(l.split()) == 7 and l.split()[0].isdigit()]
    pa = statistics.median(ms(r[4]) for r in rows if r[1] == "A") if rows else float("nan")
    pb = statistics.median(ms(r[4]) for r in rows if r[1] == "B") if rows else float("nan")
    if m:
        ok = float(m.group(1)) >= 1.3 and pa <= pb
        p(f"  threads {t}, -c{c}: req/s ratio {m.group(1)} (>= 1.3?) and p99 {pa:.2f} <= {pb:.2f} ms? {'MET' if ok else 'NOT MET'}")
if "ours" in fresh_full and "nginx" in fresh_full:
    n = statistics.median(v[0] for v in fresh_full["nginx"]); np_ = statistics.median(v[2] for v in fresh_full["nginx"])
    om = statistics.median(v[0] for v in fresh_full["ours"]); ow = max(v[0] for v in fresh_full["ours"])
    opm = statistics.median(v[2] for v in fresh_full["ours"]); opw = max(v[2] for v in fresh_full["ours"])
    p(f"  memory, full table: ours RSS {om:.1f} MiB (worst {ow:.1f}) vs NGINX {n:.1f} MiB = 1/{n / om:.1f} (worst 1/{n / ow:.1f}); "
      f"PSS {opm:.1f} (worst {opw:.1f}) vs {np_:.1f} MiB = 1/{np_ / opm:.1f} (worst 1/{np_ / opw:.1f}) "
      f"(<= 1/8? {'MET' if n / ow >= 8 and np_ / opw >= 8 else 'MET by the median only' if n / om >= 8 and np_ / opm >= 8 else 'NOT MET'})")
if os.path.exists(su) and ng and ou:
    r = statistics.median(ou) / statistics.median(ng)
    p(f"  start-up, full table: ours/NGINX = {r:.2f} (<= 0.5? {'MET' if r <= 0.5 else 'NOT MET'})")
for name in ("check-full.txt", "check-reduced.txt", "check-full-vs-reduced-oracle.txt"):
    f = os.path.join(out, name)
    if os.path.exists(f):
        last = [l.strip() for l in open(f) if re.search(r"\d+ passed, \d+ failed", l)]
        p(f"{name[:-4]}: {last[-1] if last else 'no result (see ' + f + ')'}")
text = "\n".join(lines)
print(text)
open(os.path.join(out, "summary.md"), "w").write(text + "\n")
EOF
}

{
    echo "compare_nginx.sh $(date -Is) on $(hostname): $(nproc) cores, $(uname -r)"
    echo "binary: $BIN ($("$BIN" --version 2>&1 | head -1), built $(date -r "$BIN" -Is)); $ROOT is at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo ?)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' + uncommitted changes')"
    echo "nginx: $(nginx -v 2>&1 | sed 's/.*: //'); wrk: $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
    echo "table: $TABLE; asns: $ASNS; DUR=$DUR ROUNDS=$ROUNDS WARMUP=$WARMUP CONNS_LIST='$CONNS_LIST' THREADS_LIST='$THREADS_LIST'"
    echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee -a "$OUT/run.log"

phases=("$@"); [ ${#phases[@]} -gt 0 ] || phases=(all)
for ph in "${phases[@]}"; do
    case "$ph" in
        tables) tables;;
        startup) tables; startup;;
        check) tables; check;;
        throughput) tables; throughput;;
        tls) tables; tls;;
        all) tables; startup; check; throughput;;
        summary) ;;  # only summarise an earlier run: OUT=... bench/compare_nginx.sh summary
        *) sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2;;
    esac
done
echo
summary | tee -a "$OUT/run.log"
echo "results: $OUT"
