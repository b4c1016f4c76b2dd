#!/usr/bin/env bash
# There, on a lent GPU machine: unpack what gpu_prepare.sh packed, then run the pool
# (benchmarks/gpu_pool.py) over the open issues' acdc-dev grids; what comes back lies in
# $OUT: records.tar.gz (unpack it here at the repository root, then commit the records),
# pool.json, failures.log, gpu.csv. From the device tool, in one call:
#   run(command="benchmarks/gpu_pool.sh --deadline 480", carry=["data/gpu"], timeout_s=590)
# Arguments go to gpu_pool.py (--workers, --deadline, --dry-run, ...); GRIDS="a.yaml b.yaml"
# replaces the grid list.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-bench_out/gpu}
mkdir -p "$out"
benchmarks/gpu_setup.sh
export PYTHONPATH=/tmp/semiseg-site:$PWD/src
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$out/gpu.csv" 2>&1 || true
g=benchmarks/grids
# GRIDS (space-separated, in priority order) narrows the pool to one issue's grids
grids=${GRIDS:-"$g/acdc-dev.yaml $g/acdc-dev-new.yaml $g/acdc-spcl-scratch.yaml $g/acdc-spcl-pretrained.yaml"}
# shellcheck disable=SC2086  # the grids are words
python3 benchmarks/gpu_pool.py $grids --set data.root=/tmp/semiseg-data/ACDC --out "$out" "$@"
