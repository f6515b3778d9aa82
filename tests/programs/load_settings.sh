#!/usr/bin/env bash
# --load takes the settings of the run that trained the models from the models folder's run
# file: a plain --load re-scores a non-default run identically; a settings flag that disagrees
# is refused before any data loads, and writes nothing; thread counts may differ.
# usage: load_settings.sh PROGRAM_DIR WORK_DIR
set -euo pipefail
programs="$1"
work="$2"
rm -rf "$work" && mkdir -p "$work"
bin="$programs/health_average_accuracy"
"$bin" --iterations 2 --epochs 2 --threads 1 --seed 5 --split fresh --out "$work/trained" --models "$work/models" >"$work/train.log"
"$bin" --load --models "$work/models" --out "$work/loaded" >"$work/load.log"
grep -q "settings not given here are those recorded in" "$work/load.log" || { echo "--load did not say where its settings came from"; exit 1; }
for f in health_average_accuracy.txt health_average_accuracy.csv; do
  cmp "$work/trained/$f" "$work/loaded/$f" || { echo "--load re-scored $f differently"; exit 1; }
done
echo "plain --load: results identical to the training run's"
if "$bin" --load --epochs 3 --models "$work/models" --out "$work/refused" >"$work/refused.log" 2>&1; then
  echo "--load --epochs 3 was accepted for models trained for 2 epochs"; exit 1
fi
grep -q -- "--load: the models in '$work/models' were trained with 'epochs 2' where this run asks for 'epochs 3'" "$work/refused.log" || { cat "$work/refused.log"; exit 1; }
[ -z "$(ls "$work/refused" 2>/dev/null)" ] || { echo "the refused run wrote results"; exit 1; }
echo "--load --epochs 3: refused: $(grep -- "--load: the models" "$work/refused.log" | cut -c1-150)..."
"$bin" --load --threads 2 --models "$work/models" --out "$work/two_threads" >"$work/two_threads.log"
[ -s "$work/two_threads/health_average_accuracy.txt" ] || { echo "--load --threads 2 wrote no results"; exit 1; }
echo "--load --threads 2: accepted (thread counts change only the last bits)"
cp -r "$work/models" "$work/some_models"
rm "$work/some_models/Health2average_accuracy_DFG.rsln"
if "$bin" --load --models "$work/some_models" --out "$work/partial" >"$work/partial.log" 2>&1; then
  echo "--load with a model file missing succeeded"; exit 1
fi
grep -q -- "--load: 1 of the 6 model files to score are missing, the first '$work/some_models/Health2average_accuracy_DFG.rsln'" "$work/partial.log" || { cat "$work/partial.log"; exit 1; }
! grep -q "loaded .*\.rsln" "$work/partial.log" || { echo "--load loaded models before finding one missing"; exit 1; }
[ ! -e "$work/partial" ] || { echo "the failed --load left its --out folder behind"; exit 1; }
echo "--load with a model missing: refused before loading any, naming it, and no --out folder left"
