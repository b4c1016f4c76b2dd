#!/usr/bin/env bash
# Training throughput of semiseg vs the SSL4MIS reference, side by side in one run.
# SSL4MIS default configuration: 2D UNet, 256x256, batch 24 (12 labeled), 7 labeled
# patients, 2 threads. Order A B A B; each side under the default allocator and under the
# malloc tunables (both reported). The peer must be set up first (../shared/peer/README.md):
#   PEER_ROOT=/tmp/peer benchmarks/speed_vs_peer.sh [ITERS=20] [REPEATS=2]
# Results: bench_out/speed/*.json and a summary printed at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
ITERS=${1:-20}
REPEATS=${2:-2}
PEER=${PEER_DIR:-../shared/peer}
PEER_ROOT=${PEER_ROOT:-/tmp/peer}
OUT=$PWD/bench_out/speed
ACDC=${ACDC:-$PWD/../shared/datasets/ACDC}
TUNED=glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=4294967296
mkdir -p "$OUT"
export OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 PEER_THREADS=2

ours() {  # name, malloc tunables (or empty), extra --set ...
  local name=$1 tun=$2; shift 2
  local sets=(--set "data.root=$ACDC" --set data.normalize=none --set train.num_threads=2)
  for s in "$@"; do sets+=(--set "$s"); done
  python3 "$PEER/wait_quiet.py" 0.15 5 120
  env SEMISEG_MALLOC_TUNING=0 ${tun:+GLIBC_TUNABLES=$tun} .venv/bin/python -m semiseg bench speed \
    "${sets[@]}" --steps "$ITERS" --warmup 5 --json "$OUT/$name.json" | tee "$OUT/$name.txt"
}

peer() {  # name, method (fs|mt), malloc tunables (or empty)
  local name=$1 m=$2 tun=$3
  python3 "$PEER/wait_quiet.py" 0.15 5 120
  env ${tun:+GLIBC_TUNABLES=$tun} PEER_ROOT="$PEER_ROOT" OUT="$OUT" TAG="-$name" WARMUP=5 \
    "$PEER/bench_train.sh" "$ITERS" "$m" | tail -4
}

for rep in $(seq 1 "$REPEATS"); do
  echo "== repeat $rep"
  peer "default-r$rep" fs ""
  ours "supervised-tuned-r$rep" "$TUNED" method.name=supervised
  peer "default-r$rep" mt ""
  ours "mean_teacher-tuned-r$rep" "$TUNED" method.name=mean_teacher
  peer "tuned-r$rep" mt "$TUNED"
  ours "mean_teacher-default-alloc-r$rep" "" method.name=mean_teacher
  ours "mean_teacher-fp32-r$rep" "$TUNED" method.name=mean_teacher train.amp=off train.channels_last=off
done
