#!/usr/bin/env bash
# Issues 8 and 7, the cheaper ACDC tables (~0.2-0.3 s a step, 15-20 min a run), so they
# go before the ~90-minute runs of issues 4 and 6: quality-controlled vs plain
# self-training (issue 8: 3 and 7 labeled, 2 seeds; supervised comes from issue 4's
# runs) and the meta-label pre-training with the runs that start from it (issue 7: 1, 2,
# 4 labeled, 2 seeds; each seed pre-trains its own network, so that the spread over
# seeds includes the pre-training's). After issue 8's first pair, an early probe of
# issue 7's claim (pre-training, then 1 labeled patient from scratch and from the pre-trained network,
# seed 0), so that a pre-training that does not help is found before its 18 runs.
# Every run is resumable and skipped when done:
#   nohup benchmarks/queue_qc_spcl.sh > bench_out/queue-qc-spcl.log 2>&1 &
source "$(dirname "$0")/queue_common.sh"
pretrain() {  # pretrain SEED: the meta-label pre-training that seed's runs start from
  local dir=bench_out/acdc-spcl/pretrain-s$1
  if [ ! -f "$dir/result.json" ]; then
    if [ -f "$dir/checkpoints/last.pt" ]; then
      semiseg train --resume "$dir"
    else
      semiseg pretrain -c configs/acdc/dev.yaml -c configs/acdc/spcl-pretrain.yaml \
        --set "train.seed=$1" -o "$dir"
    fi
  fi
}
run acdc-dev-qc.yaml semiqc,selftrain 3 0
pretrain 0
run acdc-spcl-scratch.yaml supervised 1 0
run acdc-spcl-pretrained.yaml supervised 1 0
for labeled in 3 7; do
  for seed in 0 1; do run acdc-dev-qc.yaml semiqc,selftrain "$labeled" "$seed"; done
done
semiseg bench report bench_out/acdc-dev
for labeled in 1 2 4; do
  for seed in 0 1; do
    run acdc-spcl-scratch.yaml supervised "$labeled" "$seed"
    pretrain "$seed"
    run acdc-spcl-pretrained.yaml supervised,spcl,mean_teacher "$labeled" "$seed"
  done
done
for out in acdc-spcl/scratch acdc-spcl/pretrained; do semiseg bench report "bench_out/$out"; done
