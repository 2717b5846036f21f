#!/usr/bin/env bash
# Installs the Debian 12 build dependencies and builds registry-redirector
# into ./build. Safe to run again: apt and the build are incremental.
#
#   scripts/setup.sh --server-only   the server binary alone (README's first command):
#                                    no GoogleTest/Benchmark packages, no test targets
#   scripts/setup.sh                 everything: server, tests, benchmarks (the second)
set -euo pipefail
cd "$(dirname "$0")/.."

server_only=0
case "${1:-}" in
  --server-only) server_only=1 ;;
  "") ;;
  *) echo "usage: $0 [--server-only]" >&2; exit 2 ;;
esac

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
packages=(
  cmake ninja-build g++ pkg-config
  libboost1.81-dev libboost-json1.81-dev libyaml-cpp-dev libspdlog-dev libfmt-dev prometheus-cpp-dev zlib1g-dev libssl-dev libbz2-dev
  curl
)
# openssl (the command): the tests make their CA and certificates with it.
[ "$server_only" = 1 ] || packages+=(libgtest-dev libgmock-dev libbenchmark-dev python3 python3-yaml openssl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

build_type="${BUILD_TYPE:-Release}"
if [ "$server_only" = 1 ]; then
  # A build folder configured by a full run keeps its test targets (their
  # packages are installed); a fresh one gets none, so GoogleTest is not needed.
  options=()
  [ -f build/CMakeCache.txt ] || options=(-DREDIRECTOR_BUILD_TESTS=OFF -DREDIRECTOR_BUILD_BENCH=OFF)
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="$build_type" "${options[@]}"
  cmake --build build -j"$(nproc)" --target registry-redirector
else
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="$build_type" -DREDIRECTOR_BUILD_TESTS=ON -DREDIRECTOR_BUILD_BENCH=ON
  cmake --build build -j"$(nproc)"
fi
