#!/usr/bin/env bash
# Reproduce the shipped heads end to end: train both directions, choose the scoring on dev
# (agreement with people on BioMQM round one, constrained by the synthetic dev challenge set),
# calibrate the error-span thresholds on dev. Every choice is made on dev data only
# (BioMQM round one, runs/splits/dev.tsv and alt-dev.tsv); FLORES devtest and alt-test are
# never read here.
#
#   bash scripts/reproduce_heads.sh              # train, choose, calibrate
#   bash scripts/reproduce_heads.sh --no-train   # keep the heads, choose and calibrate again
#
# About 25 minutes of training a direction and 30 of evaluation on 2 CPU cores. Interrupted?
# Rerun: training resumes from its last checkpoint (--resume) and gives the same head; the dev
# protocol keeps the token scores it has cached in runs/human-cache.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != "--no-train" ]; then
  python -m scripts.train_default_heads --models bergamot-en-pt bergamot-pt-en   # installs fp16
fi
python -m benchmarks.human_dev --json runs/human-dev/report.json        # every candidate on dev
python -m scripts.select_human_scoring runs/human-dev/report.json --write # the rule -> configs
for lp in en-pt pt-en; do
  python -m scripts.calibrate_spans --lp "$lp" --head "sigmoid_qe/heads/bergamot-$lp" --write \
      --json "runs/dev-eval/calib_$lp.json"                              # span thresholds
done
