#!/usr/bin/env bash
# One method's training step at an older commit (A) and at the working tree (B), A B A B,
# each `semiseg bench speed` in its own process, with the background queue paused
# (SIGSTOP) so that nothing else runs. Prints each median s/it and the B/A ratio of the
# means. Usage:
#   benchmarks/ab_step.sh OLD_REV METHOD [CONFIG] [--set k=v ...]
# e.g. benchmarks/ab_step.sh HEAD~1 c3s3 configs/acdc/dev.yaml
set -euo pipefail
cd "$(dirname "$0")/.."
old_rev=$1 method=$2 config=${3:-configs/acdc/dev.yaml}
shift $(( $# < 3 ? $# : 3 ))
old=$(mktemp -d)/old
git worktree add -q --detach "$old" "$old_rev"
trap 'pkill -CONT -f "semiseg bench run" || true; date -Is >> bench_out/pause_end; git worktree remove --force "$old"' EXIT
pkill -STOP -f "semiseg bench run" || true
date -Is >> bench_out/pause_start
declare -A sum=([A]=0 [B]=0)
for round in 1 2; do
  for side in A B; do
    src=$([ "$side" = A ] && echo "$old/src" || echo "$PWD/src")
    out=$(mktemp)
    PYTHONPATH=$src python -m semiseg bench speed -c "$config" --set "method.name=$method" \
      "$@" --steps 10 --warmup 3 --json "$out" > /dev/null
    s=$(python -c "import json; print(json.load(open('$out'))['median_s_per_it'])")
    echo "$side ($([ "$side" = A ] && echo "$old_rev" || echo "working tree")) round $round: $s s/it"
    sum[$side]=$(python -c "print(${sum[$side]} + $s)")
  done
done
python -c "print(f'B/A = {${sum[B]} / ${sum[A]}:.3f} (speed-up {${sum[A]} / ${sum[B]}:.2f}x)')"
