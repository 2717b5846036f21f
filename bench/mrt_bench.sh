#!/usr/bin/env bash
# MRT reading speed: `registry-redirector resolve` against RIPE's `bgpdump -m`
# (Debian package bgpdump) on the same synthetic TABLE_DUMP_V2 RIB, plain and
# bzip2, wall time of each in the same run, plus resolve's peak RSS.
#
#   bench/mrt_bench.sh [BUILD_DIR] [V4_PREFIXES] [V6_PREFIXES] [PEERS] [BZ2_SCALE]
#
# Defaults: build, 1000000, 200000, 30 (the size of a RouteViews RIB), and the
# bzip2 run on 1/BZ2_SCALE (default 1 = the same file; compressing GBs with
# bzip2 takes minutes). Files go to a temporary folder, removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
v4=${2:-1000000}
v6=${3:-200000}
peers=${4:-30}
bz2_scale=${5:-1}
bin="$build/registry-redirector"
command -v bgpdump >/dev/null || { echo "bgpdump is missing: apt-get install bgpdump" >&2; exit 1; }
[ -x "$bin" ] || { echo "$bin is missing: build first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gen="$build/bench/make_synthetic_rib"
if [ ! -x "$gen" ]; then
  g++ -std=c++20 -O2 -o "$work/make_synthetic_rib" bench/make_synthetic_rib.cpp
  gen="$work/make_synthetic_rib"
fi

measure() {  # label, file, entries
  local label=$1 file=$2 entries=$3 bytes t_ours t_bgpdump rss
  bytes=$(stat -c %s "$file")
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$bin" resolve --rib "$file" --out "$work/t.gz" >/dev/null
  read -r t_ours u_ours s_ours rss <"$work/time"
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" bgpdump -m "$file" >/dev/null 2>/dev/null
  read -r t_bgpdump u_bgpdump s_bgpdump _ <"$work/time"
  awk -v l="$label" -v b="$bytes" -v e="$entries" -v o="$t_ours" -v g="$t_bgpdump" -v r="$rss" \
      -v co="$(echo "$u_ours + $s_ours" | bc)" -v cg="$(echo "$u_bgpdump + $s_bgpdump" | bc)" 'BEGIN {
    printf "%-6s %7.1f MB %9d entries | resolve: %6.2f s wall, %6.2f s CPU (%6.1f MB/s, %5.2f M entries/s of CPU), peak RSS %d MiB\n",
      l, b / 1e6, e, o, co, b / 1e6 / co, e / 1e6 / co, r / 1024
    printf "%-6s %7s    %9s         | bgpdump -m: %6.2f s wall, %6.2f s CPU (%6.1f MB/s) | ratio %.1fx wall, %.1fx CPU\n",
      "", "", "", g, cg, b / 1e6 / cg, g / o, cg / co }'
}

echo "generating $v4 IPv4 + $v6 IPv6 prefixes x $peers peers ..."
"$gen" --v4 "$v4" --v6 "$v6" --peers "$peers" >"$work/rib.mrt"
measure plain "$work/rib.mrt" $(((v4 + v6) * peers))
if [ "$bz2_scale" -gt 1 ]; then
  "$gen" --v4 $((v4 / bz2_scale)) --v6 $((v6 / bz2_scale)) --peers "$peers" >"$work/small.mrt"
  mv "$work/small.mrt" "$work/rib.mrt"
fi
rm -f "$work/rib.mrt.bz2"
bzip2 -1 "$work/rib.mrt"
measure bzip2 "$work/rib.mrt.bz2" $(((v4 + v6) / bz2_scale * peers))
# For the record: bzip2 decompression alone, the floor for compressed input.
/usr/bin/time -f "%e" -o "$work/time" bzip2 -dc "$work/rib.mrt.bz2" >/dev/null
echo "        bzip2 -dc alone: $(cat "$work/time") s"
