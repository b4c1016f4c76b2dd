#!/usr/bin/env bash
# Issue 9's HC18 table in priority order: 10 % labeled (seed 0, then 1), then 20 %.
# Resumable and skipped when done, like acdc_dev_queue.sh:
#   nohup benchmarks/hc18_dev_queue.sh > bench_out/hc18-dev-queue.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
source .venv/bin/activate
grid=benchmarks/grids/hc18-dev.yaml
run() { semiseg bench run "$grid" --methods "$1" --labeled "$2" --seeds "$3"; }
for labeled in 10 20; do
  for seed in 0 1; do run supervised,ersr,mean_teacher,bcp "$labeled" "$seed"; done
done
semiseg bench report bench_out/hc18-dev
