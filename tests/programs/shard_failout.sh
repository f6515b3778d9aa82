#!/usr/bin/env bash
# A failout sweep (whose model files are named like "1 [0.99, 0.96, 0.92]health_failout_rate",
# with spaces) run serially and as three shards merged: the merged results files are
# byte-identical to the serial run's.
# usage: shard_failout.sh PROGRAM_DIR WORK_DIR
set -euo pipefail
bin="$1/health_failout_rate"
work="$2"
rm -rf "$work" && mkdir -p "$work"
args=(--iterations 1 --epochs 2 --failout-rates 1,0.7 --threads 1 --seed 11)
"$bin" "${args[@]}" --out "$work/one/results" --models "$work/one/models" >"$work/one.log"
for i in 1 2 3; do
  "$bin" "${args[@]}" --shard $i/3 --out "$work/parts" --models "$work/models" >"$work/shard$i.log"
done
"$bin" "${args[@]}" --merge "$work/parts" --out "$work/merged" >"$work/merged.log"
n=0
for f in "$work/one/results/"*; do
  [ "${f%.info}" = "$f" ] || continue  # the run's provenance and cost: checked below
  cmp "$f" "$work/merged/$(basename "$f")" || { echo "serial and merged differ: $(basename "$f")"; exit 1; }
  n=$((n + 1))
done
[ "$n" -ge 2 ] || { echo "the serial run wrote $n results files"; exit 1; }
grep -q "failout 0.7" "$work/one/results/health_failout_rate.csv" || { echo "no failout 0.7 model in the results"; exit 1; }
# The merged run's .info: the shards' CPU seconds summed (plus the merge's own, well under a
# second) and the longest shard's wall time, from each partial file's cost line.
info="$work/merged/health_failout_rate.info"
grep -q "^mode 1 shard folder(s) merged$" "$info" || { echo "merged .info: $(cat "$info")"; exit 1; }
python3 - "$work/parts" "$info" <<'PY'
import glob, sys
costs = [open(p).read().split("\n")[2].split(" ") for p in sorted(glob.glob(sys.argv[1] + "/*.part"))]
assert len(costs) == 3 and all(c[0] == "cost" for c in costs), costs
info = dict(line.split(" ", 1) for line in open(sys.argv[2]).read().splitlines())
cpu, wall = float(info["cpu-seconds"]), float(info["wall-seconds"])
shard_cpu = sum(float(c[2]) for c in costs)
assert shard_cpu > 0 and shard_cpu <= cpu < shard_cpu + 1, (cpu, shard_cpu)
assert wall >= max(float(c[1]) for c in costs), (wall, costs)
assert info["machine"] == " ".join(costs[0][3:]), info["machine"]
print(f"merged cost: {cpu:.3f} CPU seconds from shards' {shard_cpu:.3f}, wall {wall:.3f} s")
PY
grep -q "^mode train$" "$work/one/results/health_failout_rate.info" || { echo "serial .info has no 'mode train'"; exit 1; }
echo "a failout sweep's three shards merged are byte-identical to the serial run ($n files)"
