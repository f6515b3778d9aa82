#!/usr/bin/env bash
# The CIFAR MobileNet deployed from its model files alone: four resilinet-node processes (IoT,
# edge, fog, cloud) with convolutional activations on the wire, 250 examples of the run's
# CIFAR-10 test split streamed to the ResiliNet and the deepFogGuard model while the edge is
# SIGKILLed at request 50 and restarted at 100. Checks: every request answered once, every
# comparable answer bit-identical to the simulation, the edge seen failed while down and used
# again after, and ResiliNet's mux sending fewer skip bytes than deepFogGuard's sum.
# usage: runtime_cifar.sh PROGRAM_DIR WORK_DIR
source "$(dirname "$0")/runtime_setup.sh" "$1" "$2" 5 no-health
"$programs/cifar_mobilenet_average_accuracy" --iterations 1 --epochs 1 --subset 400 --alpha 0.25 --threads 1 \
  --seed 7 --out "$work/results" --models "$work/models" >"$work/train.log"
for v in ResiliNet DFG; do
  {
    echo "model models/cifar1average_accuracy_$v.rsln"
    echo "input 32 32 3"
    echo "source tcp://127.0.0.1:${ports[0]}"
    echo "deadline-ms 3000"
    k=1
    for n in iot edge fog cloud; do echo "node $n tcp://127.0.0.1:${ports[$k]}"; k=$((k + 1)); done
  } >"$work/$v.txt"
  launch "$v" --requests 250 --interval-ms 5 --kill edge@50 --restart edge@100 --seed 7
done
PYTHONPATH="$(dirname "$0")" python3 - "$work" <<'PY'
import re, sys
from runtime_checks import launch_results, check_answers
work = sys.argv[1]
skip = {}
for v in ["ResiliNet", "DFG"]:
    text, rows = launch_results(work, v)
    skip[v] = int(re.search(r"skip hyperconnections (\d+) bytes", text).group(1))
    sim = check_answers(rows, 250, {50} | set(range(100, 250)), 15)
    assert all(r["failed_nodes"] == "" for r in rows[:50]), "no failure before the kill"
    assert all("edge" in r["failed_nodes"] for r in rows[51:100]), "edge seen failed while down"
    back = [i for i in range(100, 250) if rows[i]["failed_nodes"] == ""]
    assert back, "the restarted edge was used again"
    print(f"{v}: 250 answered, {sim.count('equal')} equal to the simulation, {sim.count('not-comparable')} not comparable; "
          f"edge used again from request {back[0]}; skip bytes {skip[v]}")
assert skip["ResiliNet"] < skip["DFG"] / 2, skip
PY
