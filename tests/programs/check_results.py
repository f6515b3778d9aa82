#!/usr/bin/env python3
"""Checks an experiment program's results: every expected accuracy in the CSV recomputes from
its per-combination accuracies (spec 2.7), every summary line of the text file recomputes from
the CSV (mean over iterations), and optionally that ResiliNet beats Vanilla at a setting, that
one variant's mean beats another's by a margin (e.g. 'failout 0.7' and 'failout 1.0'), or
that every model's mean at a setting reaches a minimum (a model that learned: inference with
batch norm's moving statistics well above chance).

usage: check_results.py RESULTS_BASE [--resilinet-beats-vanilla SETTING]
                        [--variant-beats SETTING BETTER WORSE MARGIN] [--all-above SETTING MIN]
RESULTS_BASE is the results path without extension (the .txt and .csv beside it are read)."""
import csv
import math
import re
import sys


def expected(acc, rel):
    n = len(rel)
    num = den = 0.0
    for i, a in enumerate(acc):
        w = 1.0
        for k in range(n):
            alive = (i >> (n - 1 - k)) & 1
            w *= rel[k] if alive else 1 - rel[k]
        num += a * w
        den += w
    return num / den


def main():
    base = sys.argv[1]
    rows = list(csv.DictReader(open(base + ".csv")))
    assert rows, "no rows in the CSV"
    cells = {}
    for r in rows:
        rel = [float(v) for v in r["reliability"].strip("[]").split(",")]
        acc = [float(r[k]) for k in r if k.startswith("acc_")]
        assert len(acc) == 2 ** len(rel), r
        e = expected(acc, rel)
        assert abs(e - float(r["expected_accuracy"])) < 1e-12, (r, e)
        cells.setdefault((r["model"], r["variant"], r["reliability"]), []).append(e)
    text = open(base + ".txt").read()
    # Every "Average accuracy: x" line follows an "Acc List" line it must recompute from.
    # The first evaluation of a model has its combination lists just before "Acc List", on its line.
    pairs = re.findall(r"Calculating accuracy for reliability setting (\[.*?\])\n(?:\[[0-9, \[\]]*\])?Acc List: \[(.*?)\]\nAverage accuracy: (\S+)", text)
    assert len(pairs) == len(rows), (len(pairs), len(rows))
    for rel, acc, e in pairs:
        r = [float(v) for v in rel.strip("[]").split(",")]
        a = [float(v) for v in acc.split(",")]
        assert abs(expected(a, r) - float(e)) < 1e-12, (rel, acc, e)
    means = {}
    for (model, variant, rel), values in cells.items():
        means[(model, variant, rel)] = sum(values) / len(values)
    # Summary lines "<set> <Model> accuracy: <mean>" (average accuracy experiments).
    checked = 0
    # The text says "ResiliNet" for ResiliNet+ too (as the reference does); the CSV tells them apart.
    for rel, model, value in re.findall(r"^(\[[^\]]*\]) (Vanilla|DFG|ResiliNet) accuracy: (\S+)$", text, re.M):
        if model == "ResiliNet" and ("ResiliNet+", "", rel) in means:
            model = "ResiliNet+"
        assert abs(means[(model, "", rel)] - float(value)) < 1e-12, (rel, model, value)
        checked += 1
    # Failout-rate summary lines "<survival list><set> Fixed Failout: <mean>" and "<set> Variable
    # Failout 1x: <mean>" (the variable model has no no_failure row: the reference records 0 there).
    for survival, rel, value in re.findall(r"^\[([^\]]*)\](\[[^\]]*\]) Fixed Failout: (\S+)$", text, re.M):
        rate = survival.split(",")[0]
        assert abs(means[("ResiliNet", "failout " + rate, rel)] - float(value)) < 1e-12, (rate, rel, value)
        checked += 1
    for rel, value in re.findall(r"^(\[[^\]]*\]) Variable Failout 1x: (\S+)$", text, re.M):
        assert abs(means.get(("ResiliNet", "variable failout", rel), 0.0) - float(value)) < 1e-12, (rel, value)
        checked += 1
    print(f"{base}: {len(rows)} rows and {len(pairs)} evaluations recompute; {checked} summary lines match")
    if "--resilinet-beats-vanilla" in sys.argv:
        rel = sys.argv[sys.argv.index("--resilinet-beats-vanilla") + 1]
        name = "ResiliNet+" if ("ResiliNet+", "", rel) in means else "ResiliNet"
        r, v = means[(name, "", rel)], means[("Vanilla", "", rel)]
        print(f"at {rel}: {name} {r:.4f}, Vanilla {v:.4f}")
        assert r > v, f"{name} ({r}) does not beat Vanilla ({v}) at {rel}"
        assert checked > 0
    if "--variant-beats" in sys.argv:
        at = sys.argv.index("--variant-beats")
        rel, better, worse, margin = sys.argv[at + 1], sys.argv[at + 2], sys.argv[at + 3], float(sys.argv[at + 4])
        found = {k[1]: v for k, v in means.items() if k[2] == rel}
        b, w = found[better], found[worse]
        print(f"at {rel}: {better} {b:.4f}, {worse} {w:.4f} (margin {margin})")
        assert b >= w + margin, f"{better} ({b}) does not beat {worse} ({w}) by {margin} at {rel}"
        assert checked > 0
    if "--all-above" in sys.argv:
        at = sys.argv.index("--all-above")
        rel, least = sys.argv[at + 1], float(sys.argv[at + 2])
        found = {k[0]: v for k, v in means.items() if k[2] == rel}
        print(f"at {rel}: " + ", ".join(f"{m} {v:.4f}" for m, v in sorted(found.items())) + f" (minimum {least})")
        assert found, f"no results at {rel}"
        assert all(v >= least for v in found.values()), f"a model below {least} at {rel}: {found}"


if __name__ == "__main__":
    main()
