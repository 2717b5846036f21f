#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, ASan + UBSan + coverage) into
# ./build-fuzz and runs each one for SECONDS (default 30) on a scratch copy of
# its seed corpus (tests/fuzz/corpus/<target>/; the repository's corpus is
# never written to). Every file in tests/fuzz/regressions/<target>/ is
# replayed first. Exits non-zero on any crash, leak, timeout or OOM.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Environment: FUZZ_JOBS (build parallelism, default nproc), FUZZ_KEEP=DIR
# (keep each target's grown corpus and crash artifacts under DIR instead of a
# temporary folder).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds=${1:-30}
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2
  exit 2
fi
all_targets=(fuzz_http fuzz_prefix_table fuzz_config fuzz_client_ip fuzz_mrt fuzz_tls fuzz_routes)
targets=("${all_targets[@]}")
if [ $# -gt 0 ]; then targets=("$@"); fi
declare -A max_len=([fuzz_http]=12288 [fuzz_prefix_table]=4096 [fuzz_config]=4096 [fuzz_client_ip]=2048 [fuzz_mrt]=16384 [fuzz_tls]=4096 [fuzz_routes]=2048)
for t in "${targets[@]}"; do
  [ -n "${max_len[$t]:-}" ] || { echo "unknown target: $t (one of ${all_targets[*]})" >&2; exit 2; }
done

# --- toolchain: only what is missing, non-interactively.
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
packages=(clang-14 libclang-rt-14-dev cmake ninja-build
          libboost1.81-dev libyaml-cpp-dev libspdlog-dev libfmt-dev prometheus-cpp-dev zlib1g-dev libssl-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "fuzz.sh: installing ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- build: the whole core library carries the sanitizer and coverage flags.
# -O1 and line tables only: a finding's stack still names file and line, and the
# build (Asio and Beast templates) is much faster than with full debug info.
# -fno-sanitize=function: clang 14's UBSan function check cannot compile C++20
# coroutines (the mirror prober's asio::awaitable code fails with "Cannot
# represent a difference across sections"); every other UBSan check stays on.
build=build-fuzz
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -G Ninja \
  -DREDIRECTOR_BUILD_FUZZERS=ON -DREDIRECTOR_BUILD_TESTS=OFF -DREDIRECTOR_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=function -fno-sanitize-recover=undefined" >/dev/null
cmake --build "$build" --target "${targets[@]}" -j"${FUZZ_JOBS:-$(nproc)}"

# --- run.
if [ -n "${FUZZ_KEEP:-}" ]; then
  work=$(realpath -m "$FUZZ_KEEP")
  mkdir -p "$work"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/redirector-fuzz.XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi
export ASAN_OPTIONS="detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"

passed=0
failed=0
for t in "${targets[@]}"; do
  bin="$root/$build/tests/fuzz/$t"
  corpus="$work/$t/corpus"
  artifacts="$work/$t/artifacts"
  mkdir -p "$corpus" "$artifacts"
  cp -n "$root/tests/fuzz/corpus/$t"/* "$corpus"/ 2>/dev/null || true
  log="$work/$t/log"
  ok=1

  # Known crashers must stay fixed.
  regressions=()
  if [ -d "tests/fuzz/regressions/$t" ]; then
    while IFS= read -r -d '' f; do regressions+=("$f"); done \
      < <(find "tests/fuzz/regressions/$t" -type f ! -name '*.md' -print0 | sort -z)
  fi
  if [ ${#regressions[@]} -gt 0 ]; then
    if ! "$bin" -timeout=10 -rss_limit_mb=2048 "${regressions[@]}" >"$log.regressions" 2>&1; then
      ok=0
      echo "$t: a regression input fails again:"
      grep -E "Running: |ERROR|SUMMARY|^ +#[0-9]+ " "$log.regressions" | head -40
    fi
  fi

  dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=("-dict=$root/tests/fuzz/$t.dict")
  status=0
  started=$SECONDS
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="${max_len[$t]}" \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" "$corpus" >"$log" 2>&1 || status=$?
  elapsed=$((SECONDS - started))
  final=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)
  [ -n "$execs" ] || execs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$final")
  cov=$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<<"$final")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$final")
  files=$(find "$corpus" -type f | wc -l)
  if [ "$status" -ne 0 ]; then
    ok=0
    echo "$t: libFuzzer exited with $status; log tail:"
    grep -E 'ERROR|SUMMARY|ALARM|^ +#[0-9]+ |^MS:|Test unit written|^Base64|out-of-memory|Done|panic|runtime error' "$log" | head -60
    for a in "$artifacts"/*; do
      [ -f "$a" ] || continue
      echo "$t: artifact $a ($(stat -c %s "$a") bytes): $(head -c 256 "$a" | od -An -tx1 | tr -d ' \n')"
    done
  fi
  if [ "$ok" -eq 1 ]; then
    result=PASS
    passed=$((passed + 1))
  else
    result=FAIL
    failed=$((failed + 1))
  fi
  printf '%s: %s  %ss  execs=%s  cov=%s  ft=%s  corpus=%s  regressions=%s\n' \
    "$t" "$result" "$elapsed" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$files" "${#regressions[@]}"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
