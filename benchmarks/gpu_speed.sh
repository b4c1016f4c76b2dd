#!/usr/bin/env bash
# There, on a lent GPU machine: `semiseg bench speed` of each method named, at the
# acdc-paper configuration (256x256, batch 24 with 12 labeled), one after the other on an
# otherwise idle chip; each result (median step, it/s, peak memory, host syncs per step and
# where they happen) is one line of $OUT/speed.jsonl. For issue 3's GPU speed table.
#   benchmarks/gpu_speed.sh supervised mean_teacher abd
# CONFIG=configs/acdc/dev.yaml measures another configuration; SPEED_TIMEOUT (s, default
# 120) caps each method; DEVICE=cpu and SPEED_ARGS="--steps 2 --warmup 1" try it on a
# machine without a GPU.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-bench_out/gpu}
mkdir -p "$out"
benchmarks/gpu_setup.sh || exit
export PYTHONPATH=/tmp/semiseg-site:$PWD/src
for method in "$@"; do
  # a method that fails or hangs costs at most SPEED_TIMEOUT s of the lease, not the others' lines
  timeout "${SPEED_TIMEOUT:-120}" python3 -m semiseg bench speed \
    -c "${CONFIG:-configs/acdc/paper.yaml}" \
    --set data.root=/tmp/semiseg-data/ACDC --set "train.device=${DEVICE:-cuda}" \
    --set "method.name=$method" ${SPEED_ARGS:-} --json "/tmp/speed-$method.json" \
    && python3 -c "import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))" \
      "/tmp/speed-$method.json" >> "$out/speed.jsonl" \
    || echo "{\"method\": \"$method\", \"failed\": $?}" >> "$out/speed.jsonl"
done
