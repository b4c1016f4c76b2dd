#!/usr/bin/env bash
# There, on a lent GPU machine: unpack what gpu_prepare.sh packed, then run the pool
# (benchmarks/gpu_pool.py) over the open issues' acdc-dev grids; what comes back lies in
# $OUT: records.tar.gz (unpack it here at the repository root, then commit the records),
# pool.json, failures.log, gpu.csv. From the device tool, in one call:
#   run(command="benchmarks/gpu_pool.sh --deadline 480", carry=["data/gpu"], timeout_s=590)
# Arguments go to gpu_pool.py (--workers, --deadline, --dry-run, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-bench_out/gpu}
mkdir -p "$out" /tmp/semiseg-data
python3 -m pip install -q --no-index --no-deps --no-compile --disable-pip-version-check \
  --target /tmp/semiseg-site data/gpu/*.whl
export PYTHONPATH=/tmp/semiseg-site:$PWD/src
python3 -c "import tarfile; tarfile.open('data/gpu/acdc.tar.xz').extractall('/tmp/semiseg-data')"
find /tmp/semiseg-data -name '*.nii' -print0 | xargs -0 -r -P "$(nproc)" gzip -1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$out/gpu.csv" 2>&1 || true
g=benchmarks/grids
python3 benchmarks/gpu_pool.py "$g/acdc-dev.yaml" "$g/acdc-dev-new.yaml" "$g/acdc-spcl-scratch.yaml" \
  "$g/acdc-spcl-pretrained.yaml" --set data.root=/tmp/semiseg-data/ACDC --out "$out" "$@"
