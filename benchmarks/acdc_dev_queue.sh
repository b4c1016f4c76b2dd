#!/usr/bin/env bash
# The acdc-dev table of issue 4 in priority order: the runs never measured first (ABD's
# second seed at 3 labeled patients, the other baselines at 3, then CPS with a
# default-initialised first network to separate the causes of its low Dice, then 7
# labeled, then that check's second seed), then the runs measured before run records
# existed (their numbers are in BENCHMARKS.md, their folders were lost with a machine),
# re-run only so that every row of the table has a record and per-patient comparisons.
# PHASE (default: both) is `new` for the first or `rerun` for the second; run_queues.sh
# runs every open issue's new runs before any re-run. Every run is resumable, skipped when
# done and restored from benchmarks/results/acdc-dev when recorded, so this script can be
# restarted at any time (e.g. in a new session):
#   nohup benchmarks/acdc_dev_queue.sh [new|rerun] > bench_out/acdc-dev-queue.log 2>&1 &
source "$(dirname "$0")/queue_common.sh"
phase=$(queue_phase "${1:-}")
if [ "$phase" != rerun ]; then
  run acdc-dev.yaml abd 3 1
  for seed in 0 1; do run acdc-dev.yaml mean_teacher,ua_mt,cps,unimatch 3 "$seed"; done
  run acdc-dev-cps-init.yaml cps 3 0  # why CPS falls below supervised (BENCHMARKS.md)
  for seed in 0 1; do run acdc-dev.yaml bcp,abd,ua_mt,cps,unimatch 7 "$seed"; done
  run acdc-dev-cps-init.yaml cps 3 1
fi
if [ "$phase" != new ]; then
  for seed in 0 1; do run acdc-dev.yaml supervised,bcp 3 "$seed"; done
  run acdc-dev.yaml abd 3 0
  for seed in 0 1; do run acdc-dev.yaml supervised,mean_teacher 7 "$seed"; done
fi
semiseg bench report bench_out/acdc-dev
