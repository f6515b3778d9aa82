#!/usr/bin/env bash
# Build the libFuzzer targets with clang (+ AddressSanitizer, UndefinedBehaviorSanitizer) and
# run TARGET, or every target with "all", for SECONDS each, starting from the committed seed
# corpus (tests/fuzz/corpus) plus generated seeds. New inputs stay in the build folder; a
# finding is saved there and fails the script.
# SECONDS 0 only replays the corpus and the inputs of earlier findings (tests/fixtures/fuzz),
# as CI does.
# usage: scripts/fuzz.sh TARGET|all SECONDS    targets: idx mhealth model_file npy cifar image cli runtime
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
targets=(idx mhealth model_file npy cifar image cli runtime)
if [ $# -ne 2 ]; then
  echo "usage: scripts/fuzz.sh TARGET|all SECONDS   (targets: ${targets[*]})" >&2
  exit 2
fi
if [ "$1" != all ]; then
  case " ${targets[*]} " in *" $1 "*) targets=("$1") ;; *) echo "fuzz.sh: unknown target '$1' (targets: ${targets[*]})" >&2; exit 2 ;; esac
fi
case "$2" in ''|*[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, got '$2'" >&2; exit 2 ;; esac
if [ "$2" = 0 ]; then run=(-runs=0); else run=(-max_total_time="$2"); fi
"$root/scripts/install-deps.sh"
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends clang libomp-dev >/dev/null
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRESILINET_FUZZ=ON \
  -DRESILINET_BUILD_TESTS=OFF -DRESILINET_BUILD_EXAMPLES=OFF -DRESILINET_BUILD_BENCHMARKS=OFF \
  -DRESILINET_NATIVE=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target make_seeds "${targets[@]/#/fuzz_}"
corpus="$build/corpus"
for t in "${targets[@]}"; do mkdir -p "$corpus/$t" "$build/findings"; done
mkdir -p "$corpus"/{model_file,npy,cifar,runtime}
"$build/tests/fuzz/make_seeds" "$corpus"
for t in "${targets[@]}"; do
  [ -d "$root/tests/fuzz/corpus/$t" ] && cp -n "$root/tests/fuzz/corpus/$t"/* "$corpus/$t"/ 2>/dev/null || true
  [ "$t" = image ] && cp -n "$root"/tests/fixtures/fuzz/*.{jpg,bmp} "$corpus/$t"/
  echo "== fuzz_$t for $2 s"
  # Decoding takes time in proportion to the declared size (a corrupt 63264x32 JPEG: 1.1 s
  # under AddressSanitizer; up to max_image_pixels is allowed), slow but not a hang.
  limit=10
  [ "$t" = image ] && limit=30
  (cd "$build" && "$build/tests/fuzz/fuzz_$t" "${run[@]}" -timeout="$limit" -rss_limit_mb=2048 \
     -print_final_stats=1 -artifact_prefix="$build/findings/$t-" "$corpus/$t" 2>&1 | \
     grep -E "stat::number_of_executed_units|ERROR|SUMMARY|Test unit written|==[0-9]+==" || true)
  if ls "$build/findings/$t-"* >/dev/null 2>&1; then
    echo "fuzz_$t: finding(s) saved in $build/findings" >&2
    exit 1
  fi
done
echo "== fuzzing found nothing"
