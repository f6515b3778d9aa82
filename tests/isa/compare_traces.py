#!/usr/bin/env python3
"""Runs training_trace from two builds (e.g. -march=native and plain x86-64) and compares.

Double precision must agree to 1e-9 at every step's loss and every final weight: rounding
differs between instruction sets by ~1e-16, so anything larger is a discrete difference (a
failout draw, a mask, a kernel that computes something else). Float traces are compared for
information only: a ReLU pre-activation within rounding of 0 flips on one side and SGD
carries the difference on (tests/mpi/mpi_fit_check.cpp), so the first step where they part
by more than 1e-5 is printed, not asserted.
usage: compare_traces.py TRACE_BINARY_A TRACE_BINARY_B WORK_DIR"""
import os, subprocess, sys

a_bin, b_bin, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
traces = []
for name, binary in (("a", a_bin), ("b", b_bin)):
    path = os.path.join(work, name + ".txt")
    subprocess.run([binary, path], check=True)
    rows = {}
    for line in open(path):
        run_precision, run_optimizer, kind, key, value = line.split()
        rows[(run_precision + " " + run_optimizer, kind, key)] = float(value)
    traces.append(rows)
a, b = traces
assert a.keys() == b.keys(), "the traces hold different steps or weights"
ok = True
for run in sorted({k[0] for k in a}):
    keys = [k for k in a if k[0] == run]
    steps = sorted((k for k in keys if k[1] == "loss"), key=lambda k: int(k[2]))
    worst = max(abs(a[k] - b[k]) for k in keys)
    parted = next((int(k[2]) for k in steps if abs(a[k] - b[k]) > 1e-5), None)
    exact = run.startswith("double")
    print(f"{run}: {len(steps)} steps, {len(keys) - len(steps)} weights; largest difference {worst:.3g}"
          f"{' (tolerance 1e-09)' if exact else ''}; first step parting by > 1e-5: {parted}")
    if exact and worst > 1e-9:
        ok = False
        first = next(k for k in steps + keys if abs(a[k] - b[k]) > 1e-9)
        print(f"  FAILED: first difference above 1e-9 at {first[1]} {first[2]}: {a[first]!r} vs {b[first]!r}")
print("compare_traces: passed" if ok else "compare_traces: FAILED")
sys.exit(0 if ok else 1)
