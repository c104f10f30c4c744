#!/usr/bin/env bash
# Reproduce the shipped heads end to end: train both directions, choose the scoring on dev
# (agreement with people on BioMQM round one, constrained by the synthetic dev challenge set),
# fit the error-span model on dev (BioMQM round one's human spans, out of fold by document,
# constrained by synthetic errors on the dev split). Every choice is made on dev data only
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
awk -F'\t' -v OFS='\t' '{print $1, $2}' runs/splits/dev.tsv > runs/splits/dev.en-pt.tsv
awk -F'\t' -v OFS='\t' '{print $2, $1}' runs/splits/dev.tsv > runs/splits/dev.pt-en.tsv
for lp in en-pt pt-en; do  # each method's token-score thresholds, on synthetic dev errors
  sigmoid-qe-calibrate --lp "$lp" --head "sigmoid_qe/heads/bergamot-$lp" \
      --dev "runs/splits/dev.$lp.tsv" --write --quiet > "runs/splits/calibration.$lp.json"
done
python -m benchmarks.span_data                                           # token arrays, cached
python -m benchmarks.span_dev --json runs/span-dev/report.json           # span candidates on dev
python -m scripts.select_span_model runs/span-dev/report.json --write    # the rule -> configs
