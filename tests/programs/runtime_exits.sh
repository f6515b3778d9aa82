#!/usr/bin/env bash
# Early exits in the runtime: trains the health Vanilla network with an exit head on every
# failable node (--exits), deploys it as five processes, kills fog1 and then fog2 (no path
# reaches the cloud any more: the reference would guess) and restarts them, and checks that the
# deepest exit the input still reaches answers — fog2's while fog1 is down, the edge's while
# both are — with every answer and answering exit equal to the simulation's, and no guess.
# usage: runtime_exits.sh PROGRAM_DIR WORK_DIR
source "$(dirname "$0")/runtime_setup.sh" "$1" "$2" 7 no-health
"$programs/health_average_accuracy" --iterations 1 --epochs 5 --threads 1 --seed 7 --exits 0.5 \
  --out "$work/results" --models "$work/models" >"$work/train.log"
health_deployment "$work/vanilla.txt" Health1average_accuracy_vanilla.rsln 3000
launch vanilla --requests 400 --interval-ms 3 --kill fog1@60 --kill fog2@120 --restart fog2@180 --restart fog1@240 --seed 7
PYTHONPATH="$(dirname "$0")" python3 - "$work" <<'PY'
import re, sys
from runtime_checks import launch_results, check_answers
work = sys.argv[1]
text, rows = launch_results(work, "vanilla")
check_answers(rows, 400, {60, 120} | set(range(180, 400)), 40)
exits = [r["exit"] for r in rows]
assert all(e == "-" for e in exits[:60]), "the cloud answers while every node is alive"
assert all(e == "fog2" for e in exits[61:120]), exits[61:120]
assert all(e == "edge" for e in exits[121:180]), exits[121:180]
assert all(r["guess"] == "0" for r in rows), "an exit answers whenever the cloud cannot"
back = [i for i in range(240, 400) if exits[i] == "-"]
assert back, "the cloud answers again once fog1 is back"
count = int(re.search(r"answers from an early exit (\d+)", text).group(1))
assert count == sum(e != "-" for e in exits), count
acc = lambda a, b: sum(rows[i]["prediction"] == rows[i]["label"] for i in range(a, b)) / (b - a)
# The exits were trained (in simulation this model's fog2 and edge exits score 0.86 and 0.78 on
# the test split, a guess about 0.08): their answers must be far better than guessing.
assert acc(61, 120) > 0.5 and acc(121, 180) > 0.5, (acc(61, 120), acc(121, 180))
print(f"exits answered {count} of 400: fog2's for requests 61..119 (accuracy {acc(61, 120):.3f}), the edge's "
      f"for 121..179 ({acc(121, 180):.3f}); the cloud for 0..59 ({acc(0, 60):.3f}) and again from request {back[0]}")
PY
