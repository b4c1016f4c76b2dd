#!/usr/bin/env bash
# Training throughput on this CPU: one process with 2 threads, then two processes with
# 1 thread each at once, then the first again (A B A), for supervised and ABD at the
# acdc-dev configuration; pauses the benchmark queue (SIGSTOP) meanwhile. Results as JSON
# and logs in bench_out/threads/:  benchmarks/threads_vs_processes.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out=bench_out/threads; mkdir -p $out
pkill -STOP -f "semiseg bench run"; date -Is >> bench_out/pause_start
for m in supervised abd; do
  S="--config configs/acdc/dev.yaml --set method.name=$m --steps 15 --warmup 4"
  .venv/bin/semiseg bench speed $S --set train.num_threads=2 --json $out/$m-2t.json > $out/$m-2t.log 2>&1
  .venv/bin/semiseg bench speed $S --set train.num_threads=1 --json $out/$m-1t-a.json > $out/$m-1t-a.log 2>&1 &
  .venv/bin/semiseg bench speed $S --set train.num_threads=1 --set train.seed=1 --json $out/$m-1t-b.json > $out/$m-1t-b.log 2>&1 &
  wait
  .venv/bin/semiseg bench speed $S --set train.num_threads=2 --json $out/$m-2t-again.json > $out/$m-2t-again.log 2>&1
done
pkill -CONT -f "semiseg bench run"; date -Is >> bench_out/pause_end
