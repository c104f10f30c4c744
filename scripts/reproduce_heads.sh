#!/usr/bin/env bash
# Reproduce the shipped heads end to end: train, install, choose the scoring on dev, calibrate
# the error-span thresholds on dev. Every choice is made on dev data only (runs/splits/dev.tsv
# and alt-dev.tsv); FLORES devtest, alt-test and BioMQM are never read here.
#
#   bash scripts/reproduce_heads.sh              # both directions, one after the other
#   bash scripts/reproduce_heads.sh pt-en        # one direction
#
# About 25 minutes of training and 20 of evaluation a direction on 2 CPU cores. Interrupted?
# Rerun: training resumes from its last checkpoint (--resume) and gives the same head.
set -euo pipefail
cd "$(dirname "$0")/.."
for lp in "${@:-en-pt pt-en}"; do
  for one in $lp; do
    model="bergamot-$one"
    head="sigmoid_qe/heads/$model"
    python scripts/train_default_heads.py --models "$model"            # trains, installs fp16
    python scripts/dev_eval.py --lp "$one" --head "shipped=$head" --head untrained=untrained \
        --json "runs/dev-eval/$one.json"                               # the dev table
    python scripts/select_scoring.py "runs/dev-eval/$one.json" --head shipped --write "$head"
    python scripts/calibrate_spans.py --lp "$one" --head "$head" --write \
        --json "runs/dev-eval/calib_$one.json"                         # span thresholds
  done
done
