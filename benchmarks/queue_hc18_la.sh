#!/usr/bin/env bash
# Issues 9 and 10 (the cheapest tables to finish on this CPU, ~6 h of steps): all of
# HC18 first (~48 min a budget and seed, so issue 9 can finish within one session), then
# LA. Every run is resumable and skipped when done; restart at any time:
#   nohup benchmarks/queue_hc18_la.sh > bench_out/queue-hc18-la.log 2>&1 &
source "$(dirname "$0")/queue_common.sh"
run hc18-dev.yaml supervised,ersr,mean_teacher,bcp 10 0
run hc18-dev.yaml supervised,ersr,mean_teacher,bcp 10 1
run hc18-dev.yaml supervised,ersr,mean_teacher,bcp 20 0
run hc18-dev.yaml supervised,ersr,mean_teacher,bcp 20 1
run la-dev.yaml supervised,mean_teacher,bcp,mn 4 0
run la-dev.yaml supervised,mean_teacher,bcp,mn 4 1
for out in hc18-dev la-dev; do semiseg bench report "bench_out/$out"; done
