#!/usr/bin/env bash
# Issues 8 and 7, the cheaper ACDC tables (~0.2-0.3 s a step, 15-20 min a run), so they
# go before the ~90-minute runs of issues 4 and 6: quality-controlled vs plain
# self-training (issue 8: 3 and 7 labeled, 2 seeds; supervised comes from issue 4's
# runs) and the meta-label pre-training with the runs that start from it (issue 7: 1, 2,
# 4 labeled, 2 seeds). After issue 8's first pair, an early probe of issue 7's claim
# (pre-training, then 1 labeled patient from scratch and from the pre-trained network,
# seed 0), so that a pre-training that does not help is found before its 18 runs.
# Every run is resumable and skipped when done:
#   nohup benchmarks/queue_qc_spcl.sh > bench_out/queue-qc-spcl.log 2>&1 &
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
run acdc-dev-qc.yaml semiqc,selftrain 3 0
pretrain
run acdc-spcl-scratch.yaml supervised 1 0
run acdc-spcl-pretrained.yaml supervised 1 0
for labeled in 3 7; do
  for seed in 0 1; do run acdc-dev-qc.yaml semiqc,selftrain "$labeled" "$seed"; done
done
semiseg bench report bench_out/acdc-dev
for labeled in 1 2 4; do
  for seed in 0 1; do
    run acdc-spcl-scratch.yaml supervised "$labeled" "$seed"
    run acdc-spcl-pretrained.yaml supervised,spcl,mean_teacher "$labeled" "$seed"
  done
done
for out in acdc-spcl/scratch acdc-spcl/pretrained; do semiseg bench report "bench_out/$out"; done
