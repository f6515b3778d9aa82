#!/usr/bin/env python3
"""Prints a Markdown table of an experiment program's results CSV: expected accuracy (or F1)
per model or variant (rows) and reliability setting (columns), mean ± std over the iterations,
and, with every iteration listed, each iteration's value.

usage: scripts/results_table.py RESULTS.csv [--iterations]"""
import csv
import statistics
import sys

SETTINGS = ["no_failure", "normal", "poor", "hazardous"]


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        sys.exit(__doc__)
    rows = list(csv.DictReader(open(sys.argv[1])))
    if not rows:
        sys.exit(f"{sys.argv[1]}: no rows")
    cells, series = {}, []
    for r in rows:
        name = r["model"] + (" " + r["variant"] if r["variant"] else "")
        if name not in series:
            series.append(name)
        cells.setdefault((name, r["setting"]), []).append((int(r["iteration"]), float(r["expected_accuracy"])))
    iterations = max(i for v in cells.values() for i, _ in v)
    print("| Model | " + " | ".join(SETTINGS) + " |")
    print("|---|" + "---|" * len(SETTINGS))
    for name in series:
        out = []
        for s in SETTINGS:
            values = [v for _, v in sorted(cells.get((name, s), []))]
            if not values:
                out.append("—")
            elif len(values) == 1:
                out.append(f"{values[0]:.4f}")
            else:
                out.append(f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}")
        print(f"| {name} | " + " | ".join(out) + " |")
    if "--iterations" in sys.argv and iterations > 1:
        print("\n| Model | Setting | " + " | ".join(f"iteration {i}" for i in range(1, iterations + 1)) + " |")
        print("|---|---|" + "---|" * iterations)
        for name in series:
            for s in SETTINGS:
                values = dict(cells.get((name, s), []))
                if values:
                    print(f"| {name} | {s} | " + " | ".join(
                        f"{values[i]:.4f}" if i in values else "—" for i in range(1, iterations + 1)) + " |")


if __name__ == "__main__":
    main()
