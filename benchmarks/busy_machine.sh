#!/usr/bin/env bash
# Wall seconds of `health_average_accuracy --iterations 1 --epochs EPOCHS` with --threads 1 and
# with the default thread count, on the idle machine and beside one busy-loop process per core,
# for each build folder given (e.g. two commits side by side), interleaved for ROUNDS rounds.
#   benchmarks/busy_machine.sh ROUNDS EPOCHS BUILD_DIR...      (needs RESILINET_DATA_DIR)
set -euo pipefail
usage="usage: benchmarks/busy_machine.sh ROUNDS EPOCHS BUILD_DIR..."
[ $# -ge 3 ] || { echo "$usage" >&2; exit 2; }
rounds="$1" epochs="$2"
shift 2
for n in "$rounds" "$epochs"; do
  case "$n" in ''|*[!0-9]*|0) echo "busy_machine: ROUNDS and EPOCHS must be positive whole numbers, got '$n'" >&2; exit 2 ;; esac
done
for b in "$@"; do
  [ -x "$b/examples/health_average_accuracy" ] || { echo "busy_machine: no $b/examples/health_average_accuracy (build it first)" >&2; exit 1; }
done
[ -n "${RESILINET_DATA_DIR:-}" ] || { echo "busy_machine: set RESILINET_DATA_DIR (the shared data folder)" >&2; exit 1; }
work="$(mktemp -d)"
load=()
stop_load() { for p in "${load[@]}"; do kill "$p" 2>/dev/null || true; done; load=(); }
trap 'stop_load; rm -rf "$work"' EXIT
echo "round machine build threads seconds"
for round in $(seq "$rounds"); do
  for machine in idle busy; do
    if [ "$machine" = busy ]; then
      for _ in $(seq "$(nproc)"); do (while :; do :; done) & load+=($!); done
      sleep 1
    fi
    for b in "$@"; do
      for threads in 1 default; do
        args=(--iterations 1 --epochs "$epochs" --seed 5 --out "$work/out" --models "$work/models")
        [ "$threads" = 1 ] && args+=(--threads 1)
        start=$(date +%s.%N)
        "$b/examples/health_average_accuracy" "${args[@]}" >/dev/null
        awk -v r="$round" -v m="$machine" -v b="$b" -v t="$threads" -v s="$start" -v e="$(date +%s.%N)" \
          'BEGIN { printf "%s %s %s %s %.1f\n", r, m, b, t, e - s }'
        rm -rf "$work/out" "$work/models"
      done
    done
    stop_load
  done
done
