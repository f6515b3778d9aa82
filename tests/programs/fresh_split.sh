#!/usr/bin/env bash
# --split fresh: the first iteration trains and tests on the seeded split (results identical
# to --split seeded), every later one on a split of its own (results differ), with the same
# model seeds. usage: fresh_split.sh PROGRAM_DIR WORK_DIR
set -euo pipefail
programs="$1"
work="$2"
rm -rf "$work" && mkdir -p "$work"
args=(--iterations 2 --epochs 2 --threads 1 --seed 5)
for split in seeded fresh; do
  "$programs/health_average_accuracy" "${args[@]}" --split "$split" \
    --out "$work/$split/results" --models "$work/$split/models" >"$work/$split.log"
done
python3 - "$work" <<'PY'
import csv, sys
work = sys.argv[1]
rows = {s: list(csv.DictReader(open(f"{work}/{s}/results/health_average_accuracy.csv"))) for s in ("seeded", "fresh")}
assert len(rows["seeded"]) == len(rows["fresh"]) == 24, {s: len(r) for s, r in rows.items()}
for it in ("1", "2"):
    a = [r for r in rows["seeded"] if r["iteration"] == it]
    b = [r for r in rows["fresh"] if r["iteration"] == it]
    same = sum(x == y for x, y in zip(a, b))
    print(f"iteration {it}: {same} of {len(a)} rows identical between --split seeded and --split fresh")
    assert same == (len(a) if it == "1" else 0), f"iteration {it}: {same} identical rows"
PY
