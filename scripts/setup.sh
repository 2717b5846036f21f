#!/usr/bin/env bash
# Installs the Debian 12 build dependencies and builds registry-redirector
# into ./build. Safe to run again: apt and the build are incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
packages=(
  cmake ninja-build g++ pkg-config
  libboost1.81-dev libboost-json1.81-dev libyaml-cpp-dev libspdlog-dev libfmt-dev prometheus-cpp-dev zlib1g-dev libssl-dev libbz2-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-yaml curl
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

build_type="${BUILD_TYPE:-Release}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="$build_type"
cmake --build build -j"$(nproc)"
