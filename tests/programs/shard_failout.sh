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
  cmp "$f" "$work/merged/$(basename "$f")" || { echo "serial and merged differ: $(basename "$f")"; exit 1; }
  n=$((n + 1))
done
[ "$n" -ge 2 ] || { echo "the serial run wrote $n results files"; exit 1; }
grep -q "failout 0.7" "$work/one/results/health_failout_rate.csv" || { echo "no failout 0.7 model in the results"; exit 1; }
echo "a failout sweep's three shards merged are byte-identical to the serial run ($n files)"
