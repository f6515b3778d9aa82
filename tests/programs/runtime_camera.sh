#!/usr/bin/env bash
# The camera network deployed from its model file alone: nine resilinet-node processes (four
# edges, four fogs, the cloud) on loopback; 300 holdout examples streamed while two edges and
# a fog are SIGKILLed together at request 100 and restarted at 200. Checks: every request
# answered once, every comparable answer bit-identical to the simulation under the failure
# pattern it reports, the killed nodes seen failed while down and used again after.
# usage: runtime_camera.sh PROGRAM_DIR WORK_DIR
source "$(dirname "$0")/runtime_setup.sh" "$1" "$2" 10 no-health
"$programs/camera_average_accuracy" --quick --iterations 1 --epochs 1 --threads 1 --seed 7 \
  --out "$work/results" --models "$work/models" >"$work/train.log"
{
  echo "model models/Camera1average_accuracy_ResiliNet.rsln"
  echo "input 6 32 32 3"
  echo "source tcp://127.0.0.1:${ports[0]}"
  echo "deadline-ms 3000"
  k=1
  for n in edge1 edge2 edge3 edge4 fog3 fog4 fog2 fog1 cloud; do echo "node $n tcp://127.0.0.1:${ports[$k]}"; k=$((k + 1)); done
} >"$work/camera.txt"
launch camera --requests 300 --interval-ms 3 --kill edge1@100 --kill edge3@100 --kill fog3@100 \
  --restart edge1@200 --restart edge3@200 --restart fog3@200
PYTHONPATH="$(dirname "$0")" python3 - "$work" <<'PY'
import sys
from runtime_checks import launch_results, check_answers
work = sys.argv[1]
text, rows = launch_results(work, "camera")
# Nodes seen both failed and alive in one request happen only at the kill and while the
# restarted nodes reconnect.
sim = check_answers(rows, 300, {100} | set(range(200, 300)), 30)
assert all(r["failed_nodes"] == "" for r in rows[:100]), "no failure before the kill"
for i in range(101, 200):
    failed = set(rows[i]["failed_nodes"].split())
    assert {"edge1", "edge3", "fog3"} <= failed, (i, failed)
back = [i for i in range(200, 300) if rows[i]["failed_nodes"] == ""]
assert back, "the restarted nodes were used again"
print(f"camera: 300 answered, {sim.count('equal')} equal to the simulation, {sim.count('not-comparable')} not comparable; "
      f"edge1, edge3 and fog3 seen failed in requests 101-199, all nodes used again from request {back[0]}")
PY
