#!/usr/bin/env bash
# resilinet's step benchmarks beside the same networks in PyTorch (Debian's python3-torch; the
# CNNs in NCHW and channels-last), interleaved for several rounds in one session on 1 and 2
# threads. Prints medians and resilinet's speed as a ratio of the faster PyTorch layout, and
# writes the table (compare_pytorch.txt) and, when matplotlib is there, a plot
# (compare_pytorch.svg) into OUT_DIR.
#   benchmarks/compare_pytorch.sh [BUILD_DIR] [SECONDS] [ROUNDS] [MODELS] [OUT_DIR]
#   MODELS: comma-separated from health,mobilenet,resnet (default: all); SECONDS per
#   measurement (default 2); ROUNDS (default 3); OUT_DIR (default BUILD_DIR).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
seconds="${2:-2}"
rounds="${3:-3}"
IFS=, read -r -a models <<< "${4:-health,mobilenet,resnet}"
out="${5:-$build}"
for m in "${models[@]}"; do
  case "$m" in health|mobilenet|resnet) ;; *) echo "compare_pytorch: unknown model '$m' (health, mobilenet, resnet)" >&2; exit 2 ;; esac
  if [ ! -x "$build/benchmarks/bench_${m}_step" ]; then
    echo "compare_pytorch: $build/benchmarks/bench_${m}_step is missing (build the project first)" >&2
    exit 1
  fi
done
case "$rounds" in ''|*[!0-9]*|0) echo "compare_pytorch: ROUNDS must be a positive whole number, got '$rounds'" >&2; exit 2 ;; esac
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  echo "compare_pytorch: installing python3-torch" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch >/dev/null; } ||
    true
fi
have_torch=1
/usr/bin/python3 -c "import torch" 2>/dev/null || have_torch=0
[ "$have_torch" = 1 ] || echo "compare_pytorch: PyTorch unavailable; showing resilinet alone" >&2
mkdir -p "$out"
lines=()
for round in $(seq "$rounds"); do
  for model in "${models[@]}"; do
    for threads in 1 2; do
      echo "== round $round/$rounds: $model, $threads thread(s)" >&2
      lines+=("$("$build/benchmarks/bench_${model}_step" --threads "$threads" --seconds "$seconds" \
        --benchmark-samples 1 --benchmark-no-analysis | grep '^resilinet ')")
      if [ "$have_torch" = 1 ]; then
        layouts=("")
        [ "$model" = health ] || layouts+=(--channels-last)
        for layout in "${layouts[@]}"; do
          # PyTorch's best threading here: OpenBLAS as many threads as PyTorch, OpenMP threads
          # that sleep when idle (spinning ones starve OpenBLAS's: 12k instead of 30k ex/s).
          # glibc's malloc keeps the memory PyTorch frees (no mmap per large block, no trimming)
          # instead of handing it back to the kernel and faulting it in again on every step
          # (MobileNet training 38.7 -> 200 images/s on this VM; resilinet keeps its buffers).
          lines+=("$(OPENBLAS_NUM_THREADS="$threads" OMP_WAIT_POLICY=PASSIVE \
            MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=1073741824 \
            /usr/bin/python3 "$root/benchmarks/torch_reference.py" --model "$model" \
            --threads "$threads" --seconds "$seconds" $layout)")
        done
      fi
    done
  done
done
printf '%s\n' "${lines[@]}" | /usr/bin/python3 "$root/benchmarks/compare_table.py" "$out" "$seconds" "$rounds"
