#!/usr/bin/env bash
# docs/reproduction regenerates byte for byte from its committed results files (every number
# in index.md comes from them), every expected accuracy and summary line in those files
# recomputes from their per-combination accuracies, and resilinet-report refuses a malformed
# results file by name, writing nothing.
# usage: report.sh PROGRAM_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
report="$1/resilinet-report"
cd "$2"
work="$3"
rm -rf "$work" && mkdir -p "$work"
"$report" docs/reproduction/results --out "$work/report" >"$work/report.log"
n=0
for f in "$work/report/"*; do
  cmp "$f" "docs/reproduction/$(basename "$f")" || { echo "docs/reproduction/$(basename "$f") is not what the committed results give"; exit 1; }
  n=$((n + 1))
done
for f in docs/reproduction/*.md docs/reproduction/*.svg; do
  [ -e "$work/report/$(basename "$f")" ] || { echo "$f: no longer written by resilinet-report (stale)"; exit 1; }
done
runs=0
for csv in docs/reproduction/results/*/*.csv; do
  python3 tests/programs/check_results.py "${csv%.csv}" >/dev/null
  runs=$((runs + 1))
done
[ "$runs" -ge 4 ] || { echo "only $runs committed results files"; exit 1; }
mkdir -p "$work/bad/run"
head -n 3 "$(ls docs/reproduction/results/*/*.csv | head -n 1)" >"$work/bad/run/x.csv"
echo "broken,line" >>"$work/bad/run/x.csv"
if "$report" "$work/bad" --out "$work/bad-report" 2>"$work/bad.err"; then
  echo "a malformed results file was accepted"; exit 1
fi
grep -q "x.csv' line 4 has 2 fields" "$work/bad.err" && [ ! -e "$work/bad-report" ] || { echo "malformed file: $(cat "$work/bad.err")"; exit 1; }
echo "docs/reproduction: $n files regenerate byte for byte from $runs results files, each of which recomputes"
