#!/usr/bin/env python3
"""Load roles for bench/soak.sh (loopback only, every loop bounded in time).

  steady PORT SECONDS RATE        one keep-alive connection, a GET every 1/RATE s;
                                  prints latency p50/p99/max (ms), requests, errors
  pressure PORT SECONDS IDLE SLOW CHURN
                                  IDLE connections that got one answer and sit idle,
                                  SLOW Slowloris connections (a header line a second,
                                  reconnecting when cut), CHURN connects per second
                                  closed with a reset; prints what it did
"""
import selectors
import signal
import socket
import struct
import sys
import time

HOST = "127.0.0.1"
REQUEST = b"GET /v2/pause/manifests/3.9 HTTP/1.1\r\nHost: soak\r\nUser-Agent: soak.sh\r\n\r\n"


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * (len(sorted_values) - 1)))))
    return sorted_values[k]


def read_response(s):
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError("closed")
        got += chunk
    return got


def steady(port, seconds, rate):
    interval = 1.0 / rate
    latencies, errors, reconnects = [], 0, 0
    s = socket.create_connection((HOST, port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    start = time.monotonic()
    next_at = start
    while True:
        now = time.monotonic()
        if now - start >= seconds:
            break
        if now < next_at:
            time.sleep(next_at - now)
        next_at += interval
        t0 = time.perf_counter()
        try:
            s.sendall(REQUEST)
            got = read_response(s)
            latencies.append((time.perf_counter() - t0) * 1000.0)
            if not got.startswith(b"HTTP/1.1 302"):
                errors += 1
        except (OSError, ConnectionError):
            errors += 1
            reconnects += 1
            s.close()
            s = socket.create_connection((HOST, port), timeout=5)
    s.close()
    latencies.sort()
    print(f"requests={len(latencies)} errors={errors} reconnects={reconnects} "
          f"p50_ms={percentile(latencies, 50):.3f} p99_ms={percentile(latencies, 99):.3f} "
          f"max_ms={latencies[-1] if latencies else float('nan'):.3f}", flush=True)


def pressure(port, seconds, idle, slow, churn):
    deadline = time.monotonic() + seconds
    stop = []
    # soak.sh ends the pressure with SIGTERM: report, then go.
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    idle_socks, idle_ok = [], 0
    for _ in range(idle):
        if time.monotonic() > deadline or stop:
            break
        try:
            s = socket.create_connection((HOST, port), timeout=5)
            s.sendall(REQUEST)
            read_response(s)
            idle_ok += 1
            idle_socks.append(s)
        except (OSError, ConnectionError):
            pass
    sel = selectors.DefaultSelector()
    slow_socks = {}
    slow_cut = 0

    def open_slow():
        try:
            s = socket.create_connection((HOST, port), timeout=5)
            s.setblocking(False)
            s.send(b"GET /slow HTTP/1.1\r\n")
            slow_socks[s] = 0
            sel.register(s, selectors.EVENT_READ)
        except OSError:
            pass

    for _ in range(slow):
        open_slow()
    churned = 0
    linger = struct.pack("ii", 1, 0)
    last_line = time.monotonic()
    while time.monotonic() < deadline and not stop:
        tick = time.monotonic()
        # Open-and-reset churn, spread over the second.
        for _ in range(max(1, churn // 20)):
            try:
                c = socket.create_connection((HOST, port), timeout=2)
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                c.close()
                churned += 1
            except OSError:
                pass
        # Slowloris: a header line per connection per second; a connection
        # the server cut is replaced.
        if tick - last_line >= 1.0:
            last_line = tick
            for s in list(slow_socks):
                try:
                    s.send(b"X-Slow: %d\r\n" % slow_socks[s])
                    slow_socks[s] += 1
                except OSError:
                    sel.unregister(s)
                    del slow_socks[s]
                    s.close()
                    slow_cut += 1
                    open_slow()
        for key, _ in sel.select(timeout=0):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:  # closed by the server (header_timeout)
                sel.unregister(s)
                slow_socks.pop(s, None)
                s.close()
                slow_cut += 1
                open_slow()
        spent = time.monotonic() - tick
        if spent < 0.05:
            time.sleep(0.05 - spent)
    print(f"idle_open={idle_ok} slowloris={len(slow_socks)} slowloris_cut={slow_cut} churned={churned}", flush=True)
    for s in idle_socks + list(slow_socks):
        s.close()


if __name__ == "__main__":
    role = sys.argv[1]
    if role == "steady":
        steady(int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))
    elif role == "pressure":
        pressure(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
    else:
        sys.exit(__doc__)
