#!/usr/bin/env bash
# Kills an experiment program with SIGKILL in the middle of training its second model, resumes
# it with --resume, and checks that results and model files are byte-identical to a run that
# was never interrupted. With a launcher (e.g. `mpirun -np 2`), every run goes through it and
# the kill takes the launcher and all its processes at once (their process group), as a power
# cut would. usage: resume_after_kill.sh PROGRAM_DIR WORK_DIR [LAUNCHER ...]
set -euo pipefail
bin="$1/health_average_accuracy"
work="$2"
shift 2
launch=("$@")
rm -rf "$work" && mkdir -p "$work"
args=(--iterations 1 --epochs 12 --threads 1 --seed 7)
"${launch[@]}" "$bin" "${args[@]}" --out "$work/a/results" --models "$work/a/models" >"$work/a.log"
setsid "${launch[@]}" "$bin" "${args[@]}" --out "$work/b/results" --models "$work/b/models" >"$work/b.log" &
pid=$!
ckpt="$work/b/models/Health1average_accuracy_DFG.ckpt"
for _ in $(seq 1 6000); do  # until the second model has saved a checkpoint (at most 60 s)
  [ -f "$ckpt" ] && break
  sleep 0.01
done
[ -f "$ckpt" ] || { echo "no checkpoint appeared: $ckpt"; kill -9 -- -$pid; exit 1; }
kill -9 -- -$pid  # the whole process group: the program, or the launcher and every rank
wait $pid 2>/dev/null || true
[ ! -f "$work/b/results/health_average_accuracy.txt" ] || { echo "killed too late: the run had finished"; exit 1; }
echo "killed after: $(grep -c epoch "$work/b.log") epoch lines"
"${launch[@]}" "$bin" "${args[@]}" --out "$work/b/results" --models "$work/b/models" --resume >"$work/b2.log"
grep -q "resumed from" "$work/b2.log" || { echo "the rerun did not resume from the checkpoint"; exit 1; }
grep -q "loaded .*Health1average_accuracy_ResiliNet.rsln" "$work/b2.log" || { echo "the finished model was not reused"; exit 1; }
for f in results/health_average_accuracy.txt results/health_average_accuracy.csv \
         models/Health1average_accuracy_ResiliNet.rsln models/Health1average_accuracy_DFG.rsln \
         models/Health1average_accuracy_Vanilla.rsln; do
  cmp "$work/a/$f" "$work/b/$f" || { echo "differs after resume: $f"; exit 1; }
done
echo "resumed run is byte-identical to the uninterrupted one"
