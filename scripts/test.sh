#!/usr/bin/env bash
# Install dependencies, build, and run the whole test suite with ctest.
# SANITIZE=1 builds a separate tree with AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/install-deps.sh"
if [ "${SANITIZE:-0}" = 1 ]; then
  build="${BUILD_DIR:-$root/build-asan}"
  flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS="$flags" \
    -DRESILINET_BUILD_EXAMPLES=OFF -DRESILINET_BUILD_BENCHMARKS=OFF >/dev/null
  exclude="consumer_"  # the consumer builds test packaging, not memory safety
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
else
  build="${BUILD_DIR:-$root/build}"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  exclude="^$"
fi
cmake --build "$build" -j "$(nproc)"
if [ -z "${RESILINET_DATA_DIR:-}" ]; then
  echo "note: RESILINET_DATA_DIR is not set; tests that need ../shared/data will fail unless it is"
fi
cd "$build"
ctest --output-on-failure -j "$(nproc)" -E "$exclude"
