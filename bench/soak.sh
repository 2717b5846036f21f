#!/usr/bin/env bash
# The project's own bounded soak (loopback only; minutes, not hours).
#
# Three phases of PHASE seconds each, with a steady well-behaved client at a
# fixed RATE of keep-alive requests throughout:
#   calm      the steady client alone
#   pressure  plus IDLE idle keep-alive connections, SLOW Slowloris
#             connections (cut at header_timeout and reopened) and CHURN
#             open-and-reset connections per second
#   after     the steady client alone again, once the pressure is gone
# Prints the steady client's p50/p99/max and errors per phase, the server's
# RSS before/during/after and its counters. PERF=1 adds a cpu-clock profile
# of the server during the pressure phase (perf record; no hardware counters
# needed).
#
#   REDIRECTOR_BIN=build/registry-redirector bench/soak.sh
#   PHASE=60 IDLE=8000 SLOW=300 CHURN=200 RATE=200 PERF=1 bench/soak.sh
set -euo pipefail

PHASE="${PHASE:-30}"
RATE="${RATE:-200}"
IDLE="${IDLE:-8000}"
SLOW="${SLOW:-300}"
CHURN="${CHURN:-200}"
THREADS="${THREADS:-2}"
PERF="${PERF:-0}"
PORT="${PORT:-18390}"
ADMIN_PORT="${ADMIN_PORT:-18391}"
. "$(dirname "$0")/server_lib.sh"
[ "$PHASE" -ge 5 ] && [ "$PHASE" -le 600 ] || die "PHASE must be 5..600 seconds"
[ "$IDLE" -le 20000 ] && [ "$SLOW" -le 2000 ] && [ "$CHURN" -le 2000 ] && [ "$RATE" -le 5000 ] || die "load too large"
raise_nofile $((IDLE + SLOW + 2000))

PRESSURE=""
PERF_PID=""
ON_EXIT='[ -n "$PRESSURE" ] && kill "$PRESSURE" 2>/dev/null || true'

write_config "$W/r.yaml" "$SHIPPED_TABLE" "limits:
  max_connections: $((IDLE + SLOW + 1000))"
start_server "$W/r.yaml"

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$SERVER/status"; }
cpu() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }  # utime + stime, clock ticks
CLIENT="$ROOT/bench/soak_client.py"

echo "soak: threads=$THREADS rate=${RATE}/s phase=${PHASE}s pressure: idle=$IDLE slowloris=$SLOW churn=${CHURN}/s"
rss0=$(rss)
cpu0=$(cpu)
calm=$(python3 "$CLIENT" steady "$PORT" "$PHASE" "$RATE")
cpu1=$(cpu)

# Pressure: the idle connections open first (they take a while), then the
# steady client measures while everything is on.
python3 "$CLIENT" pressure "$PORT" $((PHASE * 3)) "$IDLE" "$SLOW" "$CHURN" > "$W/pressure.out" 2>&1 &
PRESSURE=$!
for _ in $(seq 1 $((PHASE * 20))); do
    open=$(curl -sf "http://127.0.0.1:$ADMIN_PORT/metrics" | awk '$1 == "registry_redirector_connections" {print $2}')
    [ "${open%.*}" -ge "$IDLE" ] 2>/dev/null && break
    sleep 0.1
done
sleep 2
if [ "$PERF" = 1 ] && command -v perf > /dev/null; then
    perf record -e cpu-clock -F 499 -p "$SERVER" -o "$W/perf.data" -- sleep "$PHASE" > /dev/null 2>&1 &
    PERF_PID=$!
fi
cpu2=$(cpu)
under=$(python3 "$CLIENT" steady "$PORT" "$PHASE" "$RATE")
cpu3=$(cpu)
rss1=$(rss)
[ -n "${PERF_PID:-}" ] && wait "$PERF_PID" 2>/dev/null || true
kill -TERM "$PRESSURE" 2>/dev/null || true
wait "$PRESSURE" 2>/dev/null || true
PRESSURE=""
sleep 2
after=$(python3 "$CLIENT" steady "$PORT" "$PHASE" "$RATE")
rss2=$(rss)

hz=$(getconf CLK_TCK)
cpu_ms() { python3 -c "import sys; print(f'{(int(sys.argv[2]) - int(sys.argv[1])) * 1000 / int(sys.argv[3]) / float(sys.argv[4]):.1f}')" "$1" "$2" "$hz" "$PHASE"; }
echo
printf '%-10s %s\n' calm "$calm (server CPU $(cpu_ms "$cpu0" "$cpu1") ms/s)"
printf '%-10s %s\n' pressure "$under (server CPU $(cpu_ms "$cpu2" "$cpu3") ms/s)"
printf '%-10s %s\n' after "$after"
echo "pressure client: $(cat "$W/pressure.out")"
echo "server RSS KiB: before $rss0, under pressure $rss1, after $rss2"
echo "counters:"
curl -sf "http://127.0.0.1:$ADMIN_PORT/metrics" > "$W/metrics.txt"
grep -E '^registry_redirector_(connections|connections_rejected_total|connection_timeouts_total|accept_errors_total) ' "$W/metrics.txt" | sed 's/^/  /'
awk -F'[{}"]' '$1 == "registry_redirector_requests_total" { n[$3] += $NF } END { for (c in n) printf "  requests_total code=%s %d\n", c, n[c] }' "$W/metrics.txt" | sort
p50() { sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p' <<< "$1"; }
p99() { sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<< "$1"; }
python3 -c "import sys; print(f'p99 under pressure / calm p99: {float(sys.argv[2]) / float(sys.argv[1]):.1f}x (target <= 5x when the server is the cause)')" "$(p99 "$calm")" "$(p99 "$under")"
if [ -s "$W/perf.data" ]; then
    echo "server profile under pressure (perf, cpu-clock, top symbols):"
    perf report -i "$W/perf.data" --sort dso,sym --stdio 2>/dev/null | grep -E '^ +[0-9]' | cut -c1-150 | head -25
fi
