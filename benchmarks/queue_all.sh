#!/usr/bin/env bash
# Every open benchmark table after issue 4's, interleaved so that each issue gets a
# first seed early: issue 6 (3 labeled, seed 0), issue 9 (10 %, seed 0), issue 8
# (3 labeled, seed 0), issue 7 (pre-training, 1 labeled, seed 0), issue 10 (LA, seed 0),
# then the rest.
# Every run is resumable and skipped when done; restart this script at any time:
#   nohup benchmarks/queue_all.sh > bench_out/queue-all.log 2>&1 &
source "$(dirname "$0")/queue_common.sh"
pretrain() {
  if [ ! -f bench_out/acdc-spcl/pretrain/result.json ]; then
    if [ -f bench_out/acdc-spcl/pretrain/checkpoints/last.pt ]; then
      semiseg train --resume bench_out/acdc-spcl/pretrain
    else
      semiseg pretrain -c configs/acdc/dev.yaml -c configs/acdc/spcl-pretrain.yaml \
        -o bench_out/acdc-spcl/pretrain
    fi
  fi
}
# first seeds
run acdc-dev-new.yaml transmedseg,m3hl,medl,cad,c3s3 3 0
run hc18-dev.yaml supervised,ersr,mean_teacher,bcp 10 0
run acdc-dev-qc.yaml semiqc,selftrain 3 0
pretrain
run acdc-spcl-scratch.yaml supervised 1 0
run acdc-spcl-pretrained.yaml supervised,spcl,mean_teacher 1 0
run la-dev.yaml supervised,mean_teacher,bcp,mn 4 0
# second seeds of those, then the other budgets
run acdc-dev-new.yaml transmedseg,m3hl,medl,cad,c3s3 3 1
run hc18-dev.yaml supervised,ersr,mean_teacher,bcp 10 1
run acdc-dev-qc.yaml semiqc,selftrain 3 1
run acdc-spcl-scratch.yaml supervised 1 1
run acdc-spcl-pretrained.yaml supervised,spcl,mean_teacher 1 1
for seed in 0 1; do
  run hc18-dev.yaml supervised,ersr,mean_teacher,bcp 20 "$seed"
  run acdc-dev-qc.yaml semiqc,selftrain 7 "$seed"
  for labeled in 2 4; do
    run acdc-spcl-scratch.yaml supervised "$labeled" "$seed"
    run acdc-spcl-pretrained.yaml supervised,spcl,mean_teacher "$labeled" "$seed"
  done
  run acdc-dev-new.yaml transmedseg,m3hl,medl,cad,c3s3 7 "$seed"
done
run la-dev.yaml supervised,mean_teacher,bcp,mn 4 1
for out in acdc-dev hc18-dev acdc-spcl/scratch acdc-spcl/pretrained la-dev; do
  semiseg bench report "bench_out/$out"
done
