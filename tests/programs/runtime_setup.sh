# Sourced by the runtime tests: PROGRAM_DIR and WORK_DIR from the arguments, a fresh WORK_DIR,
# `ports`, an array of N free loopback ports (bound by the OS, then released), launch and
# health_deployment (below). Without a fourth argument it also trains the three health models of a 5-epoch run
# (seed 7) into WORK_DIR/models.
# usage: source runtime_setup.sh PROGRAM_DIR WORK_DIR N [no-health]
set -euo pipefail
programs="$1"
work="$2"
rm -rf "$work" && mkdir -p "$work"
if [ "${4:-}" != no-health ]; then
  "$programs/health_average_accuracy" --iterations 1 --epochs 5 --threads 1 --seed 7 \
    --out "$work/results" --models "$work/models" >"$work/train.log"
fi
read -r -a ports < <(python3 -c '
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))' "$3")
# launch NAME ARG...: runs resilinet-launch on WORK_DIR/NAME.txt with output in WORK_DIR/NAME,
# printing its log when it fails.
launch() {
  local name="$1"
  shift
  timeout 300 "$programs/resilinet-launch" --deployment "$work/$name.txt" "$@" --out "$work/$name" \
    >"$work/$name.log" || { cat "$work/$name.log"; exit 1; }
}
# health_deployment FILE MODEL DEADLINE_MS [LINE...]: writes FILE, a description of the five
# health nodes on ports[1..5] with the example source on ports[0], the model file
# WORK_DIR/models/MODEL and any further LINEs (link, network, curve-keys).
health_deployment() {
  local file="$1" model="$2" deadline="$3"
  shift 3
  {
    echo "model models/$model"
    echo "input 23"
    echo "source tcp://127.0.0.1:${ports[0]}"
    echo "deadline-ms $deadline"
    local k=1
    for n in iot edge fog2 fog1 cloud; do echo "node $n tcp://127.0.0.1:${ports[$k]}"; k=$((k + 1)); done
    for line in "$@"; do echo "$line"; done
  } >"$file"
}
