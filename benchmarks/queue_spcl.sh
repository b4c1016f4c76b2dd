#!/usr/bin/env bash
# Issue 7: meta-label pre-training and the runs that start from it, 1, 2 and 4 labeled
# patients, 2 seeds, beside supervised from scratch. Each seed pre-trains its own
# network, so that the spread over seeds includes the pre-training's. PHASE (default:
# both) is `new` for 4 and 2 labeled (seed 0, then seed 1) or `rerun` for 1 labeled:
# the 1-labeled rows were measured before run records existed (their numbers are in
# BENCHMARKS.md), so their re-runs only add the records, and run_queues.sh puts them
# after every run of the open issues that was never measured.
# Every finished run keeps its record (no weights) in benchmarks/results/acdc-spcl,
# which is committed: on a new machine recorded runs are restored, not trained again,
# and a seed's pre-training only runs again while one of the phase's runs of it is unrecorded.
# Interrupted runs resume. Table: python benchmarks/pretraining_table.py benchmarks/results/acdc-spcl
#   nohup benchmarks/queue_spcl.sh [new|rerun] > bench_out/queue-spcl.log 2>&1 &
source "$(dirname "$0")/queue_common.sh"
phase=$(queue_phase "${1:-}")
records=benchmarks/results/acdc-spcl
pretrain() {  # pretrain SEED LABELED...: the pre-training those runs of SEED start from
  local dir=bench_out/acdc-spcl/pretrain-s$1 labeled method
  local needed=0
  # only the phase's own runs count: the `new` phase must not pre-train for `rerun` runs
  for labeled in "${@:2}"; do
    for method in supervised spcl mean_teacher; do
      [ -f "$records/pretrained/$method-l$labeled-s$1/result.json" ] || needed=1
    done
  done
  [ "$needed" = 1 ] || return 0
  if [ ! -f "$dir/result.json" ] && [ -n "${SEMISEG_UNTIL:-}" ] &&
     [ $(($(date -d "$SEMISEG_UNTIL" +%s) - $(date +%s))) -lt 1800 ]; then
    # 17-24 min a pre-training (its records); its runs then wait (bench run skips them)
    echo "skipped pretrain-s$1: needs about 25 min, less than 30 left before $SEMISEG_UNTIL"
    return 0
  fi
  if [ ! -f "$dir/result.json" ]; then
    if [ -f "$dir/checkpoints/last.pt" ]; then
      semiseg train --resume "$dir"
    else
      semiseg pretrain -c configs/acdc/dev.yaml -c configs/acdc/spcl-pretrain.yaml \
        --set "train.seed=$1" -o "$dir"
    fi
  fi
  semiseg bench keep "$dir" --into "$records"
}
fine_tune() {  # fine_tune SEED LABELED...: scratch and pre-trained runs of that seed
  local seed=$1 labeled
  shift
  pretrain "$seed" "$@"  # nothing to do once it is finished (or these runs recorded)
  for labeled in "$@"; do
    run acdc-spcl-scratch.yaml supervised "$labeled" "$seed"
    run acdc-spcl-pretrained.yaml supervised,spcl,mean_teacher "$labeled" "$seed"
  done
}
if [ "$phase" != rerun ]; then
  fine_tune 0 4 2
  fine_tune 1 4 2
fi
if [ "$phase" != new ]; then
  fine_tune 0 1
  fine_tune 1 1
fi
python benchmarks/pretraining_table.py "$records"
