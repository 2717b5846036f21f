#!/usr/bin/env bash
# Peak and steady resident memory of start-up and reload, for the shipped
# table and the whole-Internet table (loopback only, bounded).
#
#   REDIRECTOR_BIN=build/registry-redirector bench/load_memory.sh
#   FULL_TABLE=../shared/data/prefixes/as-prefix_20260619.pfx2asn.tsv.gz bench/load_memory.sh
#
# For each table: runs `serve` under /usr/bin/time -v, waits for /readyz,
# reads the steady RSS, triggers one reload (SIGHUP after touching nothing:
# an unchanged reload is skipped, so the config is rewritten with a comment),
# reads RSS again, stops the server and prints the peak (time's maxrss).
set -euo pipefail

THREADS="${THREADS:-2}"
PORT="${PORT:-18290}"
ADMIN_PORT="${ADMIN_PORT:-18291}"
LOG_LEVEL=info  # the start-up line says how long the load took
. "$(dirname "$0")/server_lib.sh"
FULL_TABLE="${FULL_TABLE:-$ROOT/../shared/data/prefixes/as-prefix_20260619.pfx2asn.tsv.gz}"
[ -x /usr/bin/time ] || die "/usr/bin/time not found (apt-get install time)"
PID=""
ON_EXIT='[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null || true'

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
reloads() { curl -sf "http://127.0.0.1:$ADMIN_PORT/metrics" | awk '$1 == "registry_redirector_config_reloads_total{result=\"success\"}" {print $2}'; }

printf "%-10s %12s %12s %12s %10s %10s\n" table "steady KiB" "reload KiB" "peak KiB" "ready s" "loaded s"
for name in shipped full; do
    table="$SHIPPED_TABLE"; [ "$name" = full ] && table="$FULL_TABLE"
    [ -s "$table" ] || { echo "$name: $table not found, skipped"; continue; }
    write_config "$W/r.yaml" "$table"
    start=$(date +%s.%N)
    /usr/bin/time -v -o "$W/time.txt" "$BIN" serve --config "$W/r.yaml" > "$W/server.log" 2>&1 &
    TIME_PID=$!
    wait_ready
    took=$(python3 -c "import sys,time; print(f'{time.time() - float(sys.argv[1]):.2f}')" "$start")
    PID=$(pgrep -P "$TIME_PID" -f registry-redirector | head -1)
    sleep 1
    steady=$(rss "$PID")
    write_config "$W/r.yaml" "$table" "# reloaded"
    kill -HUP "$PID"
    for _ in $(seq 1 400); do [ "$(reloads)" = "1" ] && break; sleep 0.025; done
    sleep 1
    after=$(rss "$PID")
    kill -TERM "$PID"
    wait "$TIME_PID" || true
    PID=""
    loaded=$(grep -o "loaded in [0-9.]* s" "$W/server.log" | head -1 | cut -d" " -f3)
    peak=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$W/time.txt")
    printf "%-10s %12s %12s %12s %10s %10s\n" "$name" "$steady" "$after" "$peak" "$took" "$loaded"
done
