#!/usr/bin/env bash
# Here, before a device-tool run: what a lent GPU machine lacks, packed into data/gpu/
# (git-ignored; the run names it in `carry`). Only 64 MiB travel with the working tree,
# and ACDC's gzipped NIfTI take 62 MiB: the files are packed uncompressed into one xz
# archive instead (51 MiB), which benchmarks/gpu_pool.sh unpacks and gzips again there.
# nibabel is not in the machine's image (the device tool's KINDS.md); a wheel goes along.
#   benchmarks/gpu_prepare.sh     (then: benchmarks/gpu_pool.sh, run there)
set -euo pipefail
cd "$(dirname "$0")/.."
dest=data/gpu
mkdir -p "$dest"
if [ ! -f "$dest/acdc.tar.xz" ]; then
  tmp=$(mktemp -d)
  cp -r "${SEMISEG_SHARED:-../shared}/datasets/ACDC" "$tmp/ACDC"
  chmod -R u+w "$tmp/ACDC"
  find "$tmp/ACDC" -name '*.nii.gz' -exec gunzip {} +
  tar -C "$tmp" -cf - ACDC | xz -9e -T0 > "$dest/acdc.tar.xz.part"
  mv "$dest/acdc.tar.xz.part" "$dest/acdc.tar.xz"
  rm -rf "$tmp"
fi
.venv/bin/pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
  --python-version 3.12 --implementation cp -d "$dest" nibabel==5.4.2
du -ch "$dest"/* | tail -1
