#!/usr/bin/env bash
# The camera network deployed from its model file alone: nine resilinet-node processes (four
# edges, four fogs, the cloud) and six resilinet-sensor processes (the cameras, each serving
# its view to the edge that sees it) on loopback; 300 holdout examples streamed while two edges
# and a fog are SIGKILLed together at request 100 and restarted at 200. Checks: every request
# answered once, every comparable answer bit-identical to the simulation under the failure
# pattern it reports, the killed nodes seen failed while down and used again after, and each
# camera sending its view once per request its edge computed.
# usage: runtime_camera.sh PROGRAM_DIR WORK_DIR
source "$(dirname "$0")/runtime_setup.sh" "$1" "$2" 16 no-health
"$programs/camera_average_accuracy" --quick --iterations 1 --epochs 1 --threads 1 --seed 7 \
  --out "$work/results" --models "$work/models" >"$work/train.log"
{
  echo "model models/Camera1average_accuracy_ResiliNet.rsln"
  echo "input 6 32 32 3"
  echo "source tcp://127.0.0.1:${ports[0]}"
  echo "deadline-ms 3000"
  k=1
  for n in edge1 edge2 edge3 edge4 fog3 fog4 fog2 fog1 cloud; do echo "node $n tcp://127.0.0.1:${ports[$k]}"; k=$((k + 1)); done
  for slot in 0 1 2 3 4 5; do echo "sensor cam$((slot + 1)) tcp://127.0.0.1:${ports[$k]} $slot"; k=$((k + 1)); done
} >"$work/camera.txt"
launch camera --requests 300 --interval-ms 3 --kill edge1@100 --kill edge3@100 --kill fog3@100 \
  --restart edge1@200 --restart edge3@200 --restart fog3@200
PYTHONPATH="$(dirname "$0")" python3 - "$work" <<'PY'
import re, sys
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
# Each camera answers the edge that sees it once per request that edge computed: cameras 3
# and 6 (edges 2 and 4, never killed) every request; 1, 2 (edge1), 4 and 5 (edge3) fewer.
stats = {m[0]: (int(m[1]), int(m[2])) for m in re.findall(r"stats sensor=(cam\d) requests=(\d+) bytes=(\d+)", text)}
assert len(stats) == 6, stats
view = stats["cam3"][1] // stats["cam3"][0]
assert all(b == r * view for r, b in stats.values()), stats
assert stats["cam3"][0] == stats["cam6"][0] >= 301, stats  # with the warm-up request(s)
assert all(stats[cam][0] < stats["cam3"][0] for cam in ["cam1", "cam2", "cam4", "cam5"]), stats
print(f"camera: 300 answered, {sim.count('equal')} equal to the simulation, {sim.count('not-comparable')} not comparable; "
      f"edge1, edge3 and fog3 seen failed in requests 101-199, all nodes used again from request {back[0]}; "
      f"each camera sent its {view}-byte view per request its edge computed: "
      + ", ".join(f"{c} {r}" for c, (r, b) in sorted(stats.items())))
PY
