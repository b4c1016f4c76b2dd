#!/usr/bin/env bash
# 3D training step with and without channels_last_3d memory format, A B A B per method,
# at the la-dev configuration (bf16 autocast on this CPU); pauses the benchmark queue
# (SIGSTOP) meanwhile. JSON per measurement in bench_out/channels_last_3d/:
#   benchmarks/channels_last_3d.sh [METHOD...]   (default: supervised mean_teacher mn)
set -uo pipefail
cd "$(dirname "$0")/.."
out=bench_out/channels_last_3d
mkdir -p "$out"
pkill -STOP -f "semiseg bench run"; date -Is >> bench_out/pause_start
methods=("$@")
[ ${#methods[@]} -gt 0 ] || methods=(supervised mean_teacher mn)
for method in "${methods[@]}"; do
  for i in 1 2; do
    for mode in off on; do
      .venv/bin/semiseg bench speed --config configs/la/dev.yaml --set method.name="$method" \
        --set train.channels_last="$mode" --set train.iterations=40 --steps 8 --warmup 3 \
        --json "$out/$method-$mode-$i.json" > /dev/null 2>> "$out/err.log"
    done
  done
done
.venv/bin/python benchmarks/channels_last_inference.py bench_out/la-dev/supervised-l4-s0 \
  > "$out/inference.md" 2>> "$out/err.log"
pkill -CONT -f "semiseg bench run"; date -Is >> bench_out/pause_end
