# Sourced by the runtime tests: PROGRAM_DIR and WORK_DIR from the arguments, a fresh WORK_DIR,
# `ports`, an array of N free loopback ports (bound by the OS, then released), and launch
# (below). Without a fourth argument it also trains the three health models of a 5-epoch run
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
