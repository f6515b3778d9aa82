#!/usr/bin/env bash
# Runs resilinet's CNN step benchmarks and the same networks in PyTorch (Debian's
# python3-torch, NCHW and channels-last) in one session, on 1 and 2 threads, and prints
# resilinet's speed as a ratio of the faster PyTorch layout.
#   scripts/compare_pytorch.sh [BUILD_DIR] [REPS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
reps="${2:-5}"
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  echo "compare_pytorch: needs Debian's python3-torch (apt-get install -y python3-torch)" >&2
  exit 1
fi
for bin in bench_mobilenet_step bench_resnet_step; do
  if [ ! -x "$build/benchmarks/$bin" ]; then
    echo "compare_pytorch: $build/benchmarks/$bin is missing (build the project first)" >&2
    exit 1
  fi
done
lines=()
for model in mobilenet resnet; do
  for threads in 1 2; do
    echo "== $model, $threads thread(s)" >&2
    lines+=("$("$build/benchmarks/bench_${model}_step" --threads "$threads" --reps "$reps" \
      --benchmark-samples 1 --benchmark-no-analysis | grep '^resilinet ')")
    lines+=("$(/usr/bin/python3 "$root/benchmarks/torch_reference.py" --model "$model" --threads "$threads" --reps "$reps")")
    lines+=("$(/usr/bin/python3 "$root/benchmarks/torch_reference.py" --model "$model" --threads "$threads" --reps "$reps" --channels-last)")
  done
done
printf '%s\n' "${lines[@]}"
printf '%s\n' "${lines[@]}" | /usr/bin/python3 -c '
import sys, collections
rows = collections.defaultdict(dict)
for line in sys.stdin:
    f = line.split()
    who, model, threads = f[0], f[1], f[2]
    vals = dict(kv.split("=") for kv in f[3:])
    rows[(model, threads)][who] = {k: float(v) for k, v in vals.items()}
print()
print("%-10s %-10s %14s %14s %16s" % ("model", "threads", "train ratio", "infer ratio", "batch-1 ratio"))
for (model, threads), r in sorted(rows.items()):
    ours = r["resilinet"]
    torch = [v for k, v in r.items() if k.startswith("pytorch")]
    best_train = max(t["train_img_s"] for t in torch)
    best_infer = max(t["infer_img_s"] for t in torch)
    best_b1 = min(t["infer_ms_b1"] for t in torch)
    print("%-10s %-10s %14.2f %14.2f %16.2f" % (model, threads.split("=")[1],
          ours["train_img_s"] / best_train, ours["infer_img_s"] / best_infer, best_b1 / ours["infer_ms_b1"]))
print("(ratio > 1: resilinet faster than the faster PyTorch layout, same machine, same run)")
'
