#!/usr/bin/env bash
# Issue 6's acdc-dev table (the five new methods, 15 min to 2 h a run on the AVX-512 CPU,
# up to 10 h on an AVX2 one): 3 labeled patients (seed 0, then seed 1), then 7, then the
# ablations that test our reading of four rows (grids acdc-dev-cad-no-dte.yaml,
# acdc-dev-medl-no-unlabeled.yaml, acdc-dev-transmedseg-no-transfer.yaml,
# acdc-dev-m3hl-no-hl.yaml, with acdc-dev-m3hl-fp32.yaml its control; BENCHMARKS.md).
# Resumable and skipped when done:
#   nohup benchmarks/acdc_dev_new_queue.sh > bench_out/acdc-dev-new-queue.log 2>&1 &
source "$(dirname "$0")/queue_common.sh"
for seed in 0 1; do run acdc-dev-new.yaml transmedseg,m3hl,medl,cad,c3s3 3 "$seed"; done
# 7 labeled: the other methods' seeds first (CAD's rows are then complete), C3S3's two last
for seed in 0 1; do run acdc-dev-new.yaml transmedseg,m3hl,medl,cad 7 "$seed"; done
for seed in 0 1; do run acdc-dev-new.yaml c3s3 7 "$seed"; done
for seed in 0 1; do
  run acdc-dev-cad-no-dte.yaml cad 3 "$seed"
  run acdc-dev-medl-no-unlabeled.yaml medl 3 "$seed"
  run acdc-dev-transmedseg-no-transfer.yaml transmedseg 3 "$seed"
  run acdc-dev-m3hl-no-hl.yaml m3hl 3 "$seed"
  run acdc-dev-m3hl-fp32.yaml m3hl 3 "$seed"  # the ablation's control, same precision
done
semiseg bench report bench_out/acdc-dev
