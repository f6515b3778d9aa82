#!/usr/bin/env bash
# Kills an experiment program with SIGKILL in the middle of training a model that follows a
# finished one, resumes it with --resume, and checks that results and model files are
# byte-identical to a run that was never interrupted. With a launcher (e.g. `mpirun -np 2`),
# every run goes through it (the trainings are dealt to the ranks: rank 0 trains the plan's
# first and third models, rank 1 the second) and the kill takes the launcher and all its
# processes at once (their process group), as a power cut would. Without one, a shard
# (--shard 1/2: the first and third models) is killed and resumed too, and merged with the
# other shard. usage: resume_after_kill.sh PROGRAM_DIR WORK_DIR [LAUNCHER ...]
set -euo pipefail
bin="$1/health_average_accuracy"
work="$2"
shift 2
launch=("$@")
rm -rf "$work" && mkdir -p "$work"
args=(--iterations 1 --epochs 12 --threads 1 --seed 7)
models=(Health1average_accuracy_ResiliNet Health1average_accuracy_DFG Health1average_accuracy_vanilla)
"${launch[@]}" "$bin" "${args[@]}" --out "$work/a/results" --models "$work/a/models" >"$work/a.log"

# kill_and_resume NAME MODEL_TO_INTERRUPT EXTRA_ARGS...: kills once MODEL_TO_INTERRUPT has a
# checkpoint (the first model then finished), resumes, and checks the resumed run's log.
kill_and_resume() {
  local name="$1" model="$2"
  shift 2
  local dir="$work/$name"
  setsid "${launch[@]}" "$bin" "${args[@]}" "$@" --out "$dir/results" --models "$dir/models" >"$dir.log" &
  local pid=$!
  local ckpt="$dir/models/$model.ckpt"
  for _ in $(seq 1 6000); do  # until that model has saved a checkpoint (at most 60 s)
    [ -f "$ckpt" ] && break
    sleep 0.01
  done
  [ -f "$ckpt" ] || { echo "$name: no checkpoint appeared: $ckpt"; kill -9 -- -$pid; exit 1; }
  kill -9 -- -$pid  # the whole process group: the program, or the launcher and every rank
  wait $pid 2>/dev/null || true
  [ -z "$(ls "$dir/results" 2>/dev/null)" ] || { echo "$name: killed too late: the run had written results"; exit 1; }
  echo "$name: killed after $(grep -c epoch "$dir.log") epoch lines"
  "${launch[@]}" "$bin" "${args[@]}" "$@" --out "$dir/results" --models "$dir/models" --resume >"$dir.resumed.log"
  grep -q "resumed from .*$model.ckpt" "$dir.resumed.log" || { echo "$name: $model did not resume from its checkpoint"; exit 1; }
  grep -q "loaded .*${models[0]}.rsln" "$dir.resumed.log" || { echo "$name: the finished model was not reused"; exit 1; }
}

same_as_uninterrupted() {
  local dir="$1" results="$2"
  for f in "$results/health_average_accuracy.txt" "$results/health_average_accuracy.csv"; do
    cmp "$work/a/results/$(basename "$f")" "$f" || { echo "differs after resume: $f"; exit 1; }
  done
  for m in "${models[@]}"; do
    cmp "$work/a/models/$m.rsln" "$dir/models/$m.rsln" || { echo "differs after resume: $m.rsln"; exit 1; }
  done
}

if [ ${#launch[@]} -eq 0 ]; then
  kill_and_resume b "${models[1]}"
  same_as_uninterrupted "$work/b" "$work/b/results"
  kill_and_resume shard "${models[2]}" --shard 1/2
  "$bin" "${args[@]}" --shard 2/2 --out "$work/shard/results" --models "$work/shard/models" >"$work/shard2.log"
  "$bin" "${args[@]}" --merge "$work/shard/results" --out "$work/merged" >"$work/merged.log"
  same_as_uninterrupted "$work/shard" "$work/merged"
  echo "a resumed run and a resumed shard (merged) are byte-identical to the uninterrupted run"
else
  kill_and_resume b "${models[2]}"
  same_as_uninterrupted "$work/b" "$work/b/results"
  echo "the resumed MPI run is byte-identical to the uninterrupted one"
fi
