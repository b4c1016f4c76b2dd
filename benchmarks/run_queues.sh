#!/usr/bin/env bash
# Every benchmark queue in priority order, from a frozen snapshot of the code at HEAD
# (a git worktree under bench_out/snapshots/, put first on PYTHONPATH), so that edits
# made while they run cannot change runs in flight. First the runs never measured,
# cheapest table first (7, then 4, then 6), then the re-runs of runs measured before
# records existed (issues 7 and 4), which only add their records; the other tables' queues
# (queue_hc18_la.sh, queue_qc_spcl.sh: issues 8, 9, 10) stay for reproduction. Finished
# runs are skipped (or restored from their committed records, benchmarks/results/),
# interrupted ones resume; start it again in every session:
#   nohup benchmarks/run_queues.sh [--minutes N] >> bench_out/queues.log 2>&1 &
# With --minutes N, only runs estimated to end within N minutes start (the others are
# skipped, the next ones tried): on a machine whose folders do not outlive the session,
# a run cut by its end is lost, so N is the session's time left less the checks after.
# Use it in every session: whether bench_out/ outlives a session is not known until the
# next one starts (it did once on 2026-12-05, and the session after found a new checkout
# without it, losing a run stopped at step 700 for the next session; BENCHMARKS.md).
# Without --minutes, stop the queue before the end with `pkill -TERM -f "semiseg bench
# run"`: the run saves last.pt at its next logging step (up to 50 steps later), which a
# later session resumes if it finds it; its record then lists each session's machine.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --minutes ]; then
  SEMISEG_UNTIL=$(date -d "+$2 min" -Iseconds)
  export SEMISEG_UNTIL
  echo "=== runs must end by $SEMISEG_UNTIL"
elif [ -n "${1:-}" ]; then
  echo "usage: $0 [--minutes N]" >&2
  exit 2
fi
sha=$(git rev-parse --short HEAD)
snap=bench_out/snapshots/$sha
[ -d "$snap" ] || git worktree add --detach "$snap" HEAD > /dev/null
export PYTHONPATH="$PWD/$snap/src"
if [ -n "${SEMISEG_UNTIL:-}" ]; then
  # Sessions do not always get the same CPU: an AVX2-only EPYC took 3.9-5.3x the step
  # time (supervised 4.4-4.8x) of the AVX-512 one that the records and step times come
  # from (BENCHMARKS.md, "A slower CPU"). Time supervised's acdc-dev step here against its
  # 0.231 s there and scale every estimate by the ratio (never below 1: noise must not
  # squeeze runs in); the loop still stops a run whose own steps say it would end too late.
  here=$(.venv/bin/semiseg bench speed --config configs/acdc/dev.yaml \
           --set method.name=supervised --steps 6 --warmup 2 2>/dev/null \
         | sed -n 's/.*median_s_per_it=\([0-9.]*\).*/\1/p' || true)
  SEMISEG_SPEED_FACTOR=$(python3 -c "print(round(max(1.0, ${here:-0.231} / 0.231), 2))")
  export SEMISEG_SPEED_FACTOR
  echo "=== supervised step here ${here:-unmeasured} s (0.231 s where the step times come from): estimates x $SEMISEG_SPEED_FACTOR"
fi
for queue in "queue_spcl new" "acdc_dev_queue new" acdc_dev_new_queue \
             "queue_spcl rerun" "acdc_dev_queue rerun"; do
  echo "=== $queue $(date -Is), code $sha"
  read -r script phase <<< "$queue"
  "benchmarks/$script.sh" ${phase:+"$phase"}
done
