#!/usr/bin/env python3
"""Draws the end-to-end latency of every request of several resilinet-launch runs in one SVG
(one line per run, milliseconds on a log scale, requests along the bottom), so runs of the same
schedule and links (e.g. Vanilla, deepFogGuard and ResiliNet) can be compared at a glance.

usage: scripts/latency_plot.py OUT.svg LABEL=RUN_DIR... (each RUN_DIR holds requests.csv)"""
import csv
import math
import os
import sys

COLOURS = ["#1b6ca8", "#d1495b", "#66a182", "#edae49", "#7d5ba6"]


def main():
    if len(sys.argv) < 3 or sys.argv[1] in ("-h", "--help"):
        sys.exit(__doc__)
    runs = []
    for arg in sys.argv[2:]:
        label, sep, folder = arg.partition("=")
        if not sep or not label:
            sys.exit(f"latency_plot.py: '{arg}' is not LABEL=RUN_DIR")
        path = os.path.join(folder, "requests.csv")
        try:
            rows = list(csv.DictReader(open(path)))
        except OSError as e:
            sys.exit(f"latency_plot.py: cannot read '{path}': {e.strerror}")
        latencies = [float(r["latency_ms"]) for r in rows if r["answered"] == "1"]
        if not latencies:
            sys.exit(f"latency_plot.py: '{path}' has no answered request")
        runs.append((label, latencies))
    width, height, left, bottom, top = 720, 300, 60, 40, 30
    n = max(len(v) for _, v in runs)
    lo = math.floor(math.log10(max(min(min(v) for _, v in runs), 1e-3)))
    hi = math.ceil(math.log10(max(max(v) for _, v in runs)))
    hi = max(hi, lo + 1)
    x = lambda i: left + (width - left - 10) * i / max(n - 1, 1)
    y = lambda ms: top + (height - top - bottom) * (hi - math.log10(max(ms, 10**lo))) / (hi - lo)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    for p in range(lo, hi + 1):
        out.append(f'<line x1="{left}" x2="{width - 10}" y1="{y(10**p):.1f}" y2="{y(10**p):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y(10**p) + 4:.1f}" text-anchor="end">{10**p:g}</text>')
    out.append(f'<text x="12" y="{top + (height - top - bottom) / 2:.0f}" transform="rotate(-90 12 {top + (height - top - bottom) / 2:.0f})" text-anchor="middle">latency, ms</text>')
    out.append(f'<text x="{(left + width) / 2:.0f}" y="{height - 8}" text-anchor="middle">request</text>')
    for k in range(0, n, max(1, n // 6)):
        out.append(f'<text x="{x(k):.1f}" y="{height - bottom + 14}" text-anchor="middle">{k}</text>')
    for j, (label, v) in enumerate(runs):
        colour = COLOURS[j % len(COLOURS)]
        points = " ".join(f"{x(i):.1f},{y(ms):.1f}" for i, ms in enumerate(v))
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1" points="{points}"/>')
        out.append(f'<text x="{left + 10 + 130 * j}" y="{top - 10}" fill="{colour}">{label}</text>')
    out.append("</svg>")
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(out) + "\n")
    os.replace(tmp, sys.argv[1])


if __name__ == "__main__":
    main()
