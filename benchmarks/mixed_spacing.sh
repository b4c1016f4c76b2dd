#!/usr/bin/env bash
# Two scanners' voxel sizes in one training set: a 3D UNet on the synthetic phantom with
# half its patients at 1.0 mm in-plane, trained blind and with data.target_spacing:
# median, 2 seeds each; then the val scores per scanner (benchmarks/mixed_spacing.py).
# Resumable:
#   benchmarks/mixed_spacing.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
python benchmarks/mixed_spacing.py make
semiseg bench run benchmarks/grids/mixed-spacing-blind.yaml
semiseg bench run benchmarks/grids/mixed-spacing-target.yaml
python benchmarks/mixed_spacing.py table
