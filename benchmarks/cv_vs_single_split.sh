#!/usr/bin/env bash
# Does one val split decide which method wins? On the synthetic phantom (16 patients), a
# 4-fold cross-validation of supervised vs Mean Teacher (2 labeled, 600 iterations):
# the paired comparison on each fold's 4 val patients alone (what a single split shows),
# then over all 16 patients (each validated once, by its fold). Resumable:
#   benchmarks/cv_vs_single_split.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
data=bench_out/phantom-cv/data
[ -f "$data/dataset.json" ] || semiseg data synthetic "$data" --patients 16
semiseg bench run benchmarks/grids/phantom-cv.yaml
runs=bench_out/phantom-cv/runs
for fold in 0 1 2 3; do
  echo "== fold $fold alone (its 4 val patients)"
  semiseg compare "$runs/mean_teacher-l2-f$fold-s0" --vs "$runs/supervised-l2-f$fold-s0"
done
echo "== all 4 folds (16 patients, each validated once)"
semiseg compare "$runs"/mean_teacher-l2-f?-s0 --vs "$runs"/supervised-l2-f?-s0
semiseg bench report "$runs"
