#!/usr/bin/env bash
# Issue 6's acdc-dev table in priority order: every new method at 3 labeled patients
# (seed 0, then seed 1), then 7 labeled. Resumable and skipped when done, like
# acdc_dev_queue.sh; run it after that one (both use the 2 cores fully):
#   nohup benchmarks/acdc_dev_new_queue.sh > bench_out/acdc-dev-new-queue.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
source .venv/bin/activate
grid=benchmarks/grids/acdc-dev-new.yaml
run() { semiseg bench run "$grid" --methods "$1" --labeled "$2" --seeds "$3"; }
for labeled in 3 7; do
  for seed in 0 1; do run transmedseg,m3hl,medl,cad,c3s3 "$labeled" "$seed"; done
done
semiseg bench report bench_out/acdc-dev
