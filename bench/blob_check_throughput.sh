#!/usr/bin/env bash
# Throughput of blob redirects with the blob existence check (issue 12), side
# by side in one run, on loopback: one server thread, a local NGINX as the
# mirror (HEAD -> 200, keep-alive), wrk -t1 -c50, ROUNDS (5) rounds of DUR
# (5s) per mode, modes interleaved:
#
#   plain   the mirror has no check_blobs: every blob request is redirected
#           at once (today's path);
#   hit     check_blobs on, 1,000 digests, warmed: every request a cache hit;
#   miss    check_blobs on, every digest new: every request waits for a HEAD
#           to the mirror (single flight does not help: all URLs differ).
#
#   bench/blob_check_throughput.sh        (after building; needs nginx, wrk, curl)
#
# Prints each round, then the medians, the ratios to plain, and the HEADs the
# mirror was sent (from registry_redirector_blob_checks_total).
set -euo pipefail
PORT=${PORT:-18680}
ADMIN_PORT=${ADMIN_PORT:-18681}
MIRROR_PORT=${MIRROR_PORT:-18682}
THREADS=1
ROUNDS=${ROUNDS:-5}
DUR=${DUR:-5s}
source "$(dirname "$0")/server_lib.sh"
for c in nginx wrk curl; do command -v "$c" >/dev/null || die "$c not installed"; done

# The mirror: NGINX answering 200 to everything, keep-alive without limit.
mkdir -p "$W/nginx/logs"
cat > "$W/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $W/nginx/nginx.pid;
error_log $W/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  server { listen 127.0.0.1:$MIRROR_PORT; location / { return 200; } }
}
CONF
nginx -p "$W/nginx" -c "$W/nginx/nginx.conf"
ON_EXIT='kill "$(cat "$W/nginx/nginx.pid" 2>/dev/null)" 2>/dev/null || true'

mkdir -p "$W/asns-plain" "$W/asns-check"
echo "1.0.0.0/24	64500" > "$W/table.tsv"
mirror_yaml() {  # check_blobs line or nothing
    printf 'name: google\nasns: [15169]\nmirrors:\n  - name: local\n    registry: http://127.0.0.1:%s\n    blobs: http://127.0.0.1:%s/v2{v2_path}\n%s' \
        "$MIRROR_PORT" "$MIRROR_PORT" "$1"
}
mirror_yaml "" > "$W/asns-plain/google.yaml"
mirror_yaml "    check_blobs: {positive_ttl: 24h, negative_ttl: 60s, timeout: 1s, max_entries: 1000000}
" > "$W/asns-check/google.yaml"

run_mode() {  # mode -> req/s
    local asns=$W/asns-check
    [ "$1" = plain ] && asns=$W/asns-plain
    write_config "$W/r.yaml" "$W/table.tsv" "routes: {status: 302}
limits: {max_requests_per_connection: 1000000}"
    sed -i "s|^providers_dir: .*|providers_dir: $asns|" "$W/r.yaml"
    start_server "$W/r.yaml"
    local blob_mode=$1
    [ "$1" = plain ] && blob_mode=miss
    if [ "$1" = hit ]; then  # warm the cache with the 1,000 digests
        BLOB_MODE=hit wrk -t1 -c10 -d1s -s "$ROOT/bench/wrk_blobs.lua" "http://127.0.0.1:$PORT/" > /dev/null
    fi
    local before; before=$(metric 'registry_redirector_blob_checks_total{mirror="local",result="exists"}'); before=${before:-0}
    local out; out=$(BLOB_MODE=$blob_mode wrk -t1 -c50 -d"$DUR" -s "$ROOT/bench/wrk_blobs.lua" "http://127.0.0.1:$PORT/")
    local after; after=$(metric 'registry_redirector_blob_checks_total{mirror="local",result="exists"}'); after=${after:-0}
    local errors; errors=$(metric 'registry_redirector_blob_checks_total{mirror="local",result="error"}'); errors=${errors:-0}
    local rps; rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    local non2xx; non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    stop_server
    echo "$1 $rps heads=$(awk -v a="$after" -v b="$before" 'BEGIN{printf "%d", a-b}') head_errors=${errors} non3xx=${non2xx:-0}" >&2
    echo "$rps"
}

declare -A results
for r in $(seq 1 "$ROUNDS"); do
    for mode in plain hit miss; do
        results[$mode]+="$(run_mode $mode) "
    done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
plain=$(median <<<"${results[plain]}")
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for mode in plain hit miss; do
    m=$(median <<<"${results[$mode]}")
    echo "$mode: median $m req/s ($(awk -v m="$m" -v p="$plain" 'BEGIN{printf "%.2f", m/p}') x plain)  rounds: ${results[$mode]}"
done
