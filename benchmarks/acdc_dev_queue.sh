#!/usr/bin/env bash
# The acdc-dev table of issue 4 in priority order: the comparisons the issue asks about
# first (supervised vs BCP/ABD at 3 labeled patients), then the other baselines, then 7
# labeled. Every run is resumable and skipped when done, so this script can be
# restarted at any time (e.g. in a new session):
#   nohup benchmarks/acdc_dev_queue.sh > bench_out/acdc-dev-queue.log 2>&1 &
source "$(dirname "$0")/queue_common.sh"
for seed in 0 1; do run acdc-dev.yaml supervised,bcp 3 "$seed"; done
for seed in 0 1; do run acdc-dev.yaml abd 3 "$seed"; done
for seed in 0 1; do run acdc-dev.yaml mean_teacher,ua_mt,cps,unimatch 3 "$seed"; done
for seed in 0 1; do run acdc-dev.yaml bcp,abd,ua_mt,cps,unimatch 7 "$seed"; done
semiseg bench report bench_out/acdc-dev
