#!/usr/bin/env python3
"""Checks an experiment program's results text file line by line against the reference scripts'
format (spec §7), and its model files against the reference's names. The expected lines are
generated here from the reference scripts' loops, independently of the C++ code: every literal
(headers, reliability settings, failure combinations, survival lists, model names) must match
exactly, Python's str() included; every accuracy, mean and std is a number ("nan" for the std
of one iteration).

usage: reference_format.py PROGRAM RESULTS_DIR MODELS_DIR ITERATIONS [FAILOUT_RATES] [--resilinet-plus]
FAILOUT_RATES: the comma-separated --failout-rates the failout program ran with;
--resilinet-plus: the program ran with it (the reference's MUX_ADDS: "mux_adds" in file names)."""
import os
import re
import sys

SETTINGS = {
    "health": [[1, 1, 1], [0.99, 0.96, 0.92], [0.95, 0.91, 0.87], [0.85, 0.8, 0.78]],
    "cnn": [[1, 1], [0.98, 0.96], [0.95, 0.90], [0.85, 0.80]],
    "camera": [[1] * 8, [.99, .99, .99, .99, .98, .98, .98, .98], [.95, .95, .9, .9, .8, .8, .75, .75],
               [.8, .8, .75, .75, .7, .7, .65, .65]],
}
SKIPS = {
    "health": [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]],
    "cnn": [[0, 0], [1, 0], [0, 1], [1, 1]],
    "camera": [[1, 1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0, 1], [1, 0, 0, 0, 1, 0, 0], [0, 0, 0, 0, 1, 0, 1],
               [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 1, 1], [1, 1, 1, 1, 0, 0, 1], [1, 1, 1, 1, 1, 1, 1]],
}
NUM = "(?:-?[0-9]+\\.[0-9]+(?:e[-+][0-9]+)?|-?[0-9]e[-+][0-9]+|nan)"
ACC = "<number>"  # placeholder in the expected lines for any number


class Expected:
    """The reference's output_list, with ACC where a number goes."""

    def __init__(self, nodes):
        self.lines = []
        self.nodes = nodes
        self.seen = set()  # models already evaluated once (the reference's model_accuracy_dict)

    def add(self, line):
        self.lines.append(line)

    def evaluate(self, model, setting):
        self.add("Calculating accuracy for reliability setting " + str(setting))
        combos = ""
        if model not in self.seen:
            combos = "".join(str([int(b) for b in format(i, "0%db" % self.nodes)]) for i in range(2 ** self.nodes))
            self.seen.add(model)
        self.add(combos + "Acc List: [" + ", ".join([ACC] * 2 ** self.nodes) + "]")
        self.add("Average accuracy: " + ACC)


def average_accuracy(kind, dataset, prefix, iterations, mx, out, models):
    cifar = dataset == "cnn" and kind != "imagenet"
    names = ["Vanilla", "DFG", "ResiliNet"] if cifar else ["ResiliNet", "DFG", "Vanilla"]
    files = {"ResiliNet": "ResiliNet", "DFG": "DFG", "Vanilla": "vanilla"}
    for it in range(1, iterations + 1):
        if not cifar:
            out.add("ITERATION " + str(it))
        for n in names:
            models.add(prefix + str(it) + (mx if n == "ResiliNet" else "") + "average_accuracy_" + files[n])
        for s in SETTINGS[dataset]:
            if cifar:
                out.add(str(s))
            for n in names:
                if not cifar:
                    out.add(n)
                out.evaluate((it, n), s)
    for s in SETTINGS[dataset]:
        if cifar:
            out.add(str(s))
        for n in names:
            out.add(str(s) + " " + n + " accuracy: " + ACC)
        for n in names:
            out.add(str(s) + " " + n + " std: " + ACC)


def failout_rate(dataset, stem, iterations, rates, mx, out, models):
    settings = SETTINGS[dataset]
    survivals = [[r] * len(settings[0]) for r in rates]
    for it in range(1, iterations + 1):
        out.add("ITERATION " + str(it))
        out.add("ResiliNet")
        for s in settings[1:]:
            models.add(str(it) + " " + mx + str(s) + stem + "_failout_rate")
            out.evaluate((it, "variable", str(s)), s)
        for f in survivals:
            models.add(str(it) + " " + mx + str(f) + stem + "_failout_rate")
            for s in settings:
                out.add(str(s))
                out.evaluate((it, str(f)), s)
    for s in settings:
        out.add(str(s) + " Variable Failout 1x: " + ACC)
        out.add(str(s) + " Variable Failout 1x std: " + ACC)
    for f in survivals:
        for s in settings:
            out.add(str(f) + str(s) + " Fixed Failout: " + ACC)
            out.add(str(s) + " Fixed Failout std: " + ACC)


def hyperconnection_weight(dataset, stem, iterations, mx, out, models):
    settings = SETTINGS[dataset]
    mlp = dataset != "cnn"
    ones = [1] * len(settings[0])
    for it in range(1, iterations + 1):
        if mlp:
            out.add("ITERATION " + str(it))
        for scheme in [1, 2, 3, 4]:
            if scheme in (2, 3):
                for s in settings:
                    models.add(str(it) + "_" + mx + str(s) + "_" + str(scheme) + stem + "_hyperconnection_ResiliNet")
                    if not mlp:
                        out.add(str(s) + str(scheme))
                    out.evaluate((it, scheme, str(s)), s)
            else:
                models.add(str(it) + "_" + mx + str(ones) + "_" + str(scheme) + stem + "_hyperconnection_ResiliNet")
                for s in settings:
                    if not mlp:
                        out.add(str(s) + str(scheme))
                    out.evaluate((it, scheme), s)
    for s in settings:
        for scheme in [1, 2, 3, 4, 5]:
            if mlp:
                out.add(str(s) + str(scheme) + " ResiliNet Hyperconnection Weight: " + ACC)
                out.add(str(s) + str(scheme) + " ResiliNet Hyperconnection Weight std: " + ACC)
            else:
                out.add(str(s) + str(scheme))
                out.add(str(s) + str(scheme) + ACC)
                out.add(str(s) + str(scheme) + ACC)


def skiphyperconnection_sensitivity(dataset, stem, iterations, mx, out, models):
    settings = SETTINGS[dataset]
    name = "ResiliNet Hyperconnection Weight Sensitivity"
    for it in range(1, iterations + 1):
        if dataset != "cnn":
            out.add("ITERATION " + str(it))
        for cfg in SKIPS[dataset]:
            models.add(str(it) + " " + mx + str(cfg) + " " + stem + "_skiphyperconnection_sensitivity_ResiliNet")
            for s in settings:
                out.add(str(s))
                if dataset == "camera":
                    out.add(name + str(cfg))
                if dataset == "health":
                    out.add(name)
                out.evaluate((it, str(cfg)), s)
    for s in settings:
        if dataset != "cnn":
            out.add(str(s))
        for cfg in SKIPS[dataset]:
            if dataset != "cnn":
                out.add(str(cfg))
                out.add(str(s) + " " + str(cfg) + " accuracy: " + ACC)
                out.add(str(s) + " " + str(cfg) + " std: " + ACC)
            else:
                out.add(str(s))
                out.add(str(s) + str(cfg) + ACC)
                out.add(str(s) + str(cfg) + ACC)


def main():
    args = [a for a in sys.argv[1:] if a != "--resilinet-plus"]
    if len(args) < 4:
        sys.exit(__doc__)
    mx = "mux_adds" if "--resilinet-plus" in sys.argv else ""
    program, results, models_dir, iterations = args[0], args[1], args[2], int(args[3])
    rates = [float(r) for r in args[4].split(",")] if len(args) > 4 else [0.95, 0.9, 0.7, 0.5]
    dataset = "health" if program.startswith("health") else "camera" if program.startswith("camera") else "cnn"
    key = re.match(r"(health|camera|cifar_mobilenet|cifar_resnet|imagenet)_", program)[1]
    stem = {"cifar_mobilenet": "cifar"}.get(key, key)  # the reference's word in file names (spec §7)
    experiment = program[len(key) + 1:]
    out = Expected(len(SETTINGS[dataset][0]))
    models = set()
    if experiment == "average_accuracy":
        prefix = {"health": "Health", "camera": "Camera"}.get(stem, stem)
        average_accuracy(stem, dataset, prefix, iterations, mx, out, models)
    elif experiment == "failout_rate":
        failout_rate(dataset, stem, iterations, rates, mx, out, models)
    elif experiment == "hyperconnection_weight":
        hyperconnection_weight(dataset, stem, iterations, mx, out, models)
    else:
        skiphyperconnection_sensitivity(dataset, stem, iterations, mx, out, models)
    if dataset == "cnn":
        results_name = {"average_accuracy": "average_accuracy", "failout_rate": "failout",
                        "hyperconnection_weight": "hyperconnection_weight",
                        "skiphyperconnection_sensitivity": "skiphyperconnection_sensitivity"}[experiment]
        # the CIFAR average-accuracy scripts alone have no {mx} in their results name
        results_name = stem + "_" + results_name + "_results" + ("" if experiment == "average_accuracy" else mx)
    else:
        results_name = program + mx
    path = os.path.join(results, results_name + ".txt")
    assert os.path.exists(path), f"no results file {path} (the reference's name); found {os.listdir(results)}"
    got = open(path).read().split("\n")
    assert got[-1] == "", f"{path} does not end with a line break"
    got = got[:-1]
    for i, (want, line) in enumerate(zip(out.lines, got), 1):
        pattern = "".join(NUM if part == ACC else re.escape(part) for part in re.split("(" + ACC + ")", want))
        assert re.fullmatch(pattern, line), f"{path} line {i}:\n  expected {want}\n  found    {line}"
    assert len(got) == len(out.lines), f"{path}: {len(got)} lines, the reference writes {len(out.lines)}"
    found = {f[:-len(".rsln")] for f in os.listdir(models_dir) if f.endswith(".rsln")}
    assert found == models, f"model files: missing {sorted(models - found)}, unexpected {sorted(found - models)}"
    print(f"{path}: {len(got)} lines in the reference's format; {len(found)} model files named as the reference's")


if __name__ == "__main__":
    main()
