#!/usr/bin/env bash
# Install dependencies, build, and run the whole test suite with ctest.
# SANITIZE=1 builds a separate tree with AddressSanitizer + UndefinedBehaviorSanitizer.
# GENERIC=1 builds a separate tree for plain x86-64 (no -march=native) and runs the unit tests
# (every kernel), the MPI check and the comparison of a traced training with the native tree's
# (run the plain command first: it builds that tree).
set -euo pipefail
targets=()  # all
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/install-deps.sh"
if [ "${SANITIZE:-0}" = 1 ]; then
  build="${BUILD_DIR:-$root/build-asan}"
  flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS="$flags" \
    -DRESILINET_BUILD_EXAMPLES=OFF -DRESILINET_BUILD_BENCHMARKS=OFF >/dev/null
  exclude="consumer_|docs_"  # the consumer builds and docs test packaging, not memory safety
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
elif [ "${GENERIC:-0}" = 1 ]; then
  build="${BUILD_DIR:-$root/build-generic}"
  native="${NATIVE_BUILD_DIR:-$root/build}"
  [ -x "$native/tests/training_trace" ] || { echo "GENERIC=1: no native build in '$native' (run scripts/test.sh first)"; exit 1; }
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DRESILINET_NATIVE=OFF \
    -DRESILINET_COMPARE_BUILD="$native" -DRESILINET_BUILD_EXAMPLES=OFF -DRESILINET_BUILD_BENCHMARKS=OFF >/dev/null
  exclude="consumer_|docs_|tsan_|gemm_avx2_"  # packaging, docs, the TSan and AVX2 builds (in the native tree) do not depend on the instruction set
  targets=(--target resilinet_tests training_trace)
  grep -q '^RESILINET_WITH_MPI:BOOL=ON' "$build/CMakeCache.txt" && targets+=(mpi_fit_check)
else
  build="${BUILD_DIR:-$root/build}"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  exclude="^$"
fi
cmake --build "$build" -j "$(nproc)" "${targets[@]}"
if [ -z "${RESILINET_DATA_DIR:-}" ]; then
  echo "note: RESILINET_DATA_DIR is not set; tests that need ../shared/data will fail unless it is"
fi
cd "$build"
ctest --output-on-failure -j "$(nproc)" -E "$exclude"
