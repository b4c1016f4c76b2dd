#!/usr/bin/env bash
# The acdc-dev table of issue 4 in priority order: the comparisons the issue asks about
# first (supervised vs BCP/ABD at 3 labeled patients), then the other baselines, then 7
# labeled. Every run is resumable and skipped when done, so this script can be
# restarted at any time (e.g. in a new session):
#   nohup benchmarks/acdc_dev_queue.sh > bench_out/acdc-dev-queue.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
source .venv/bin/activate
grid=benchmarks/grids/acdc-dev.yaml
run() { semiseg bench run "$grid" --methods "$1" --labeled "$2" --seeds "$3"; }
for seed in 0 1; do run supervised,bcp 3 "$seed"; done
for seed in 0 1; do run abd 3 "$seed"; done
for seed in 0 1; do run mean_teacher,ua_mt,cps,unimatch 3 "$seed"; done
for seed in 0 1; do run bcp,abd,ua_mt,cps,unimatch 7 "$seed"; done
semiseg bench report bench_out/acdc-dev
