#!/usr/bin/env bash
# What an idle keep-alive connection costs, and whether the memory comes back.
#
# Starts the server (loopback only) with the shipped provider files and
# table, opens CONNS connections that each send one request, read the
# answer and then sit idle, and prints the server's RSS and PSS
# (/proc/PID/smaps_rollup) before, during and after the storm, 1 s and
# AFTER_WAIT s after the connections closed, with the cost per connection.
#
#   REDIRECTOR_BIN=build/registry-redirector bench/idle_memory.sh
#   CONNS=10000 THREADS=2 AFTER_WAIT=60 TABLE=path/to/table.gz bench/idle_memory.sh
#
# Bounded: CONNS at most 20000, every wait has a deadline, the server is
# stopped on exit. Raises the open-file limit for itself and the server
# (`ulimit -n`; the hard limit must allow CONNS + 100).
set -euo pipefail

CONNS="${CONNS:-10000}"
THREADS="${THREADS:-2}"
AFTER_WAIT="${AFTER_WAIT:-60}"
PORT="${PORT:-18190}"
ADMIN_PORT="${ADMIN_PORT:-18191}"
. "$(dirname "$0")/server_lib.sh"
TABLE="${TABLE:-$SHIPPED_TABLE}"
[ "$CONNS" -ge 1 ] && [ "$CONNS" -le 20000 ] || die "CONNS must be 1..20000"
raise_nofile $((CONNS + 1000))

write_config "$W/r.yaml" "$TABLE" "limits:
  max_connections: $((CONNS + 100))
  idle_timeout: 600s"
start_server "$W/r.yaml"

# RSS and PSS in KiB.
mem() { awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} END {print r, p}' "/proc/$SERVER/smaps_rollup"; }

# A few requests first, so that "before" is a warm server, as in production.
for _ in 1 2 3; do curl -s -o /dev/null "http://127.0.0.1:$PORT/v2/"; done
sleep 1
read -r rss0 pss0 < <(mem)

# The storm: a Python client holds the connections open until told to stop
# (a line on its stdin), and reports how many it got answers on.
mkfifo "$W/ctl"
cat > "$W/client.py" <<'PY'
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
request = b"GET /v2/pause/manifests/3.9 HTTP/1.1\r\nHost: bench\r\nUser-Agent: idle_memory.sh\r\n\r\n"
socks, ok = [], 0
deadline = time.monotonic() + 120
for i in range(n):
    if time.monotonic() > deadline:
        break
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(request)
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
    ok += got.startswith(b"HTTP/1.1 302")
    socks.append(s)
print(f"open {len(socks)} answered {ok}", flush=True)
sys.stdin.readline()          # wait for the script to say "close"
for s in socks:
    s.close()
print("closed", flush=True)
PY
python3 "$W/client.py" "$PORT" "$CONNS" < "$W/ctl" > "$W/client.out" 2>&1 &
CLIENT=$!
exec 3> "$W/ctl"
for _ in $(seq 1 1200); do
    grep -q "^open" "$W/client.out" 2>/dev/null && break
    kill -0 "$CLIENT" 2>/dev/null || break
    sleep 0.1
done
grep -q "^open" "$W/client.out" || { cat "$W/client.out"; die "client failed"; }
sleep 2  # the last sessions go idle; the server's sweeps run
read -r rss1 pss1 < <(mem)
open_now="$(metric registry_redirector_connections)"
echo close >&3
exec 3>&-
wait "$CLIENT" || true
sleep 1
read -r rss2 pss2 < <(mem)
sleep "$AFTER_WAIT"
read -r rss3 pss3 < <(mem)

per_conn() { python3 -c "import sys; print(f'{(int(sys.argv[2]) - int(sys.argv[1])) * 1024 / int(sys.argv[3]):.0f}')" "$1" "$2" "$3"; }
pct() { python3 -c "import sys; print(f'{100.0 * (int(sys.argv[2]) - int(sys.argv[1])) / int(sys.argv[1]):+.1f} %')" "$1" "$2"; }
echo "idle_memory: $(cat "$W/client.out" | head -1), server saw $open_now open; threads=$THREADS table=$(basename "$TABLE")"
printf '%-28s %10s %10s\n' "" "RSS KiB" "PSS KiB"
printf '%-28s %10s %10s\n' "before" "$rss0" "$pss0"
printf '%-28s %10s %10s\n' "during ($CONNS idle)" "$rss1" "$pss1"
printf '%-28s %10s %10s\n' "1 s after they closed" "$rss2" "$pss2"
printf '%-28s %10s %10s\n' "${AFTER_WAIT} s after they closed" "$rss3" "$pss3"
echo "per idle connection: $(per_conn "$rss0" "$rss1" "$CONNS") bytes RSS, $(per_conn "$pss0" "$pss1" "$CONNS") bytes PSS"
echo "after ${AFTER_WAIT} s: RSS $(pct "$rss0" "$rss3") against before (target: within +25 %)"
