#!/usr/bin/python3
"""Reads the benchmark lines of compare_pytorch.sh on stdin and prints (and writes to
OUT_DIR/compare_pytorch.txt) the medians per model, thread count and framework, then
resilinet's speed relative to the faster PyTorch layout; plots the ratios to
OUT_DIR/compare_pytorch.svg when matplotlib is available.

    compare_table.py OUT_DIR SECONDS ROUNDS < lines
"""
import collections
import os
import platform
import statistics
import sys

KEYS = [("train_ex_s", "train ex/s"), ("infer_ex_s", "infer ex/s"), ("infer_us_b1", "batch-1 us"),
        ("tape_us_b1", "b1 tape us"), ("gemm_us_b1", "b1 GEMMs us")]


def main():
    out_dir, seconds, rounds = sys.argv[1], sys.argv[2], sys.argv[3]
    runs = collections.defaultdict(lambda: collections.defaultdict(list))
    for line in sys.stdin:
        f = line.split()
        if len(f) < 3:
            continue
        for kv in f[3:]:
            k, v = kv.split("=")
            runs[(f[1], int(f[2].split("=")[1]))][(f[0], k)].append(float(v))
    med = statistics.median
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    text = [f"# {platform.node()}: {cpu}, {os.cpu_count()} cores; medians of {rounds} interleaved "
            f"rounds of {seconds} s per measurement", ""]
    text.append("%-10s %-3s %-14s" % ("model", "thr", "who") + "".join("%13s" % h for _, h in KEYS))
    for (model, threads), r in sorted(runs.items()):
        for who in sorted({w for w, _ in r}):
            cells = "".join("%13.1f" % med(r[(who, k)]) if r[(who, k)] else "%13s" % "-" for k, _ in KEYS)
            text.append("%-10s %-3d %-14s%s" % (model, threads, who, cells))
    text += ["", "%-10s %-3s %10s %10s %10s   (ratio > 1: resilinet faster than the faster PyTorch layout)" %
             ("model", "thr", "train", "infer", "batch-1")]
    ratios = []
    for (model, threads), r in sorted(runs.items()):
        torch = sorted({w for w, _ in r if w.startswith("pytorch")})
        if not torch:
            continue
        ours = lambda k: med(r[("resilinet", k)])
        best = lambda k, pick: pick(med(r[(w, k)]) for w in torch)
        row = (ours("train_ex_s") / best("train_ex_s", max), ours("infer_ex_s") / best("infer_ex_s", max),
               best("infer_us_b1", min) / ours("infer_us_b1"))
        ratios.append((f"{model} {threads}t", row))
        text.append("%-10s %-3d %10.2f %10.2f %10.2f" % (model, threads, *row))
    print("\n".join(text))
    with open(os.path.join(out_dir, "compare_pytorch.txt.tmp"), "w") as f:
        f.write("\n".join(text) + "\n")
    os.replace(os.path.join(out_dir, "compare_pytorch.txt.tmp"), os.path.join(out_dir, "compare_pytorch.txt"))
    if not ratios:
        return
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("compare_table: matplotlib unavailable; no plot", file=sys.stderr)
        return
    fig, ax = plt.subplots(figsize=(8, 3.6))
    width = 0.27
    for j, label in enumerate(["training", "inference (batch)", "inference (batch 1)"]):
        ax.bar([i + (j - 1) * width for i in range(len(ratios))], [r[j] for _, r in ratios], width, label=label)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(ratios)))
    ax.set_xticklabels([name for name, _ in ratios])
    ax.set_ylabel("speed vs PyTorch (x)")
    ax.set_title("resilinet relative to PyTorch, same layers, same run (higher is better)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "compare_pytorch.tmp.svg"))
    os.replace(os.path.join(out_dir, "compare_pytorch.tmp.svg"), os.path.join(out_dir, "compare_pytorch.svg"))


if __name__ == "__main__":
    main()
