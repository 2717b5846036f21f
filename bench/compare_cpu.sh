#!/usr/bin/env bash
# Interleaved wrk runs against several running servers, with the server CPU
# time each run cost (utime + stime of the given pids over the run, from
# /proc), so that req/s and CPU per request come from the same runs.
#
#   bench/compare_cpu.sh MODE NAME=URL=PID[,PID...] [NAME=URL=PID...]
#
#   MODE  keepalive: ../shared/bench/wrk_xrealip.lua as it is
#         close: bench/wrk_xrealip_close.lua (Connection: close on every
#         request, so over HTTPS every request is a new TLS connection)
#
# Each round runs every server once, in the order given. Prints every run,
# then per server the median req/s and CPU µs/request, and for each server
# the per-round req/s ratios to the LAST one and their median.
#
# Environment: ROUNDS [5] DUR [4s] CONNS [50] (wrk -t1 -c$CONNS -d$DUR),
# WRK_ADDRS (X-Real-Ip file, peers/make_table.py addrs), SHARED [../shared].
# Start servers in sessions of their own (setsid; NGINX daemonizes): with
# autogroup scheduling a server in wrk's session shares wrk's CPU share.
# Loopback URLs only; every wrk run is bounded by -d and timeout.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SHARED="${SHARED:-$(cd "$HERE/../../shared" 2>/dev/null && pwd || true)}"
[ $# -ge 2 ] || { sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2; }
mode="$1"; shift
ROUNDS="${ROUNDS:-5}"; DUR="${DUR:-4s}"; CONNS="${CONNS:-50}"
export WRK_BASE_SCRIPT="$SHARED/bench/wrk_xrealip.lua"
case "$mode" in
    close) script="$HERE/wrk_xrealip_close.lua";;
    keepalive) script="$WRK_BASE_SCRIPT";;
    *) echo "compare_cpu: MODE is keepalive or close" >&2; exit 2;;
esac
[ -r "$WRK_BASE_SCRIPT" ] || { echo "compare_cpu: $WRK_BASE_SCRIPT not found (set SHARED)" >&2; exit 1; }

ticks() {  # pid,pid,... -> utime + stime in clock ticks
    local p total=0
    for p in ${1//,/ }; do total=$(( total + $(awk '{print $14 + $15}' "/proc/$p/stat") )); done
    echo "$total"
}

results=$(mktemp "${TMPDIR:-/tmp}/compare_cpu.XXXXXX")
trap 'rm -f "$results"' EXIT
hz=$(getconf CLK_TCK)
echo "mode=$mode rounds=$ROUNDS wrk -t1 -c$CONNS -d$DUR; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
    for spec in "$@"; do
        IFS='=' read -r name url pids <<< "$spec"
        case "$url" in http://127.*|https://127.*|http://\[::1\]*|https://\[::1\]*) ;;
            *) echo "compare_cpu: $url is not loopback" >&2; exit 2;; esac
        before=$(ticks "$pids")
        out=$(timeout 120 wrk -t1 -c"$CONNS" -d"$DUR" -s "$script" "$url")
        after=$(ticks "$pids")
        n=$(awk '/requests in/ {print $1}' <<< "$out")
        rps=$(awk '/^Requests\/sec:/ {print $2}' <<< "$out")
        errors=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' <<< "$out")
        cpu=$(awk -v t=$(( after - before )) -v hz="$hz" -v n="${n:-0}" 'BEGIN {printf "%.1f", n ? t / hz * 1e6 / n : 0}')
        echo "$r $name req/s=$rps cpu_us_per_request=$cpu socket_errors=${errors:-0}"
        echo "$name $rps $cpu" >> "$results"
        sleep 0.5
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$results" "$@" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
names = [s.split("=")[0] for s in sys.argv[2:]]
per = {n: [float(r[1]) for r in rows if r[0] == n] for n in names}
cpu = {n: [float(r[2]) for r in rows if r[0] == n] for n in names}
ref = names[-1]
for n in names:
    ratios = [a / b for a, b in zip(per[n], per[ref])]
    print(f"{n}: median req/s {statistics.median(per[n]):.0f}, median CPU/request "
          f"{statistics.median(cpu[n]):.1f} us; per-round ratio to {ref} "
          f"{' '.join(f'{x:.2f}' for x in ratios)}, median {statistics.median(ratios):.2f}")
PY
