#!/usr/bin/env bash
# There, on a lent GPU machine, first in every call: install the wheels that
# benchmarks/gpu_prepare.sh packed (the image lacks nibabel) into /tmp/semiseg-site and
# unpack ACDC into /tmp/semiseg-data/ACDC, gzipped again as the data set's layout expects.
# Then `export PYTHONPATH=/tmp/semiseg-site:$PWD/src` (the scripts that call this do).
# Skips the unpacking when a warm machine already holds it.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p /tmp/semiseg-data
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --disable-pip-version-check \
  --target /tmp/semiseg-site data/gpu/*.whl
if [ ! -f /tmp/semiseg-data/.unpacked ]; then
  python3 -c "import tarfile; tarfile.open('data/gpu/acdc.tar.xz').extractall('/tmp/semiseg-data')"
  find /tmp/semiseg-data -name '*.nii' -print0 | xargs -0 -r -P "$(nproc)" gzip -1
  touch /tmp/semiseg-data/.unpacked
fi
