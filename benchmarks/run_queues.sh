#!/usr/bin/env bash
# Every benchmark queue in priority order, from a frozen snapshot of the code at HEAD
# (a git worktree under bench_out/snapshots/, put first on PYTHONPATH), so that edits
# made while they run cannot change runs in flight: issues 9 and 10 (cheapest to
# finish), then issue 4, then issues 6-8 and 7. Finished runs are skipped, interrupted
# ones resume; start it again in every session:
#   nohup benchmarks/run_queues.sh >> bench_out/queues.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
sha=$(git rev-parse --short HEAD)
snap=bench_out/snapshots/$sha
[ -d "$snap" ] || git worktree add --detach "$snap" HEAD > /dev/null
export PYTHONPATH="$PWD/$snap/src"
for queue in queue_hc18_la acdc_dev_queue queue_all; do
  echo "=== $queue $(date -Is), code $sha"
  "benchmarks/$queue.sh"
done
