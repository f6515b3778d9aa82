#!/usr/bin/env bash
# resilinet's CNN step benchmarks beside the same networks in PyTorch (Debian's python3-torch,
# NCHW and channels-last), interleaved for several rounds in one session on 1 and 2 threads;
# prints medians and resilinet's speed as a ratio of the faster PyTorch layout.
#   benchmarks/compare_pytorch.sh [BUILD_DIR] [REPS] [ROUNDS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
reps="${2:-5}"
rounds="${3:-3}"
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  echo "compare_pytorch: installing python3-torch" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch >/dev/null; } ||
    true
fi
have_torch=1
/usr/bin/python3 -c "import torch" 2>/dev/null || have_torch=0
[ "$have_torch" = 1 ] || echo "compare_pytorch: PyTorch unavailable; showing resilinet alone" >&2
for bin in bench_mobilenet_step bench_resnet_step; do
  if [ ! -x "$build/benchmarks/$bin" ]; then
    echo "compare_pytorch: $build/benchmarks/$bin is missing (build the project first)" >&2
    exit 1
  fi
done
lines=()
for round in $(seq "$rounds"); do
  for model in mobilenet resnet; do
    for threads in 1 2; do
      echo "== round $round: $model, $threads thread(s)" >&2
      lines+=("$("$build/benchmarks/bench_${model}_step" --threads "$threads" --reps "$reps" \
        --benchmark-samples 1 --benchmark-no-analysis | grep '^resilinet ')")
      if [ "$have_torch" = 1 ]; then
        for layout in "" --channels-last; do
          lines+=("$(/usr/bin/python3 "$root/benchmarks/torch_reference.py" --model "$model" \
            --threads "$threads" --reps "$reps" $layout)")
        done
      fi
    done
  done
done
printf '%s\n' "${lines[@]}" | /usr/bin/python3 -c '
import sys, collections, statistics
runs = collections.defaultdict(lambda: collections.defaultdict(list))
for line in sys.stdin:
    f = line.split()
    vals = dict(kv.split("=") for kv in f[3:])
    for k, v in vals.items():
        runs[(f[1], f[2].split("=")[1])][(f[0], k)].append(float(v))
med = lambda xs: statistics.median(xs)
print("%-10s %-3s %-14s %12s %12s %12s" % ("model", "thr", "who", "train img/s", "infer img/s", "b1 ms"))
for (model, threads), r in sorted(runs.items()):
    for who in sorted({w for w, _ in r}):
        print("%-10s %-3s %-14s %12.1f %12.1f %12.3f" % (model, threads, who, med(r[(who, "train_img_s")]),
              med(r[(who, "infer_img_s")]), med(r[(who, "infer_ms_b1")])))
print()
print("%-10s %-3s %12s %12s %12s   (medians; ratio > 1: resilinet faster than the faster PyTorch layout)" %
      ("model", "thr", "train", "infer", "batch-1"))
for (model, threads), r in sorted(runs.items()):
    torch = sorted({w for w, _ in r if w.startswith("pytorch")})
    if not torch:
        continue
    ours = lambda k: med(r[("resilinet", k)])
    best = lambda k, pick: pick(med(r[(w, k)]) for w in torch)
    print("%-10s %-3s %12.2f %12.2f %12.2f" % (model, threads, ours("train_img_s") / best("train_img_s", max),
          ours("infer_img_s") / best("infer_img_s", max), best("infer_ms_b1", min) / ours("infer_ms_b1")))
'
