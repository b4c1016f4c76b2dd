#!/usr/bin/env bash
# Issues 9 and 10 (the cheapest tables to finish on this CPU, ~6 h of steps): first
# seeds of both (HC18 10 %, LA), then the rest. Every run is resumable and skipped when
# done; restart at any time:
#   nohup benchmarks/queue_hc18_la.sh > bench_out/queue-hc18-la.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
source .venv/bin/activate
g=benchmarks/grids
run() { semiseg bench run "$g/$1" --methods "$2" --labeled "$3" --seeds "$4"; }
mn() {
  semiseg bench run "$g/la-dev.yaml" --methods mn --labeled 4 --seeds "$1" \
    --set optim.name=adamw --set optim.lr=0.0001
}
run hc18-dev.yaml supervised,ersr,mean_teacher,bcp 10 0
run la-dev.yaml supervised,mean_teacher,bcp 4 0
mn 0
run hc18-dev.yaml supervised,ersr,mean_teacher,bcp 10 1
run hc18-dev.yaml supervised,ersr,mean_teacher,bcp 20 0
run la-dev.yaml supervised,mean_teacher,bcp 4 1
mn 1
run hc18-dev.yaml supervised,ersr,mean_teacher,bcp 20 1
for out in hc18-dev la-dev; do semiseg bench report "bench_out/$out"; done
