"""What a scan acquired at another voxel size does to a 3D network, with and without
``data.target_spacing``.

A hospital's scanner rarely matches the training data's voxel size. This takes a
finished 3D run and its val volumes, re-samples each volume (image trilinear, labels
nearest) to other isotropic voxel sizes, as if acquired by other scanners, and predicts
them two ways with the same weights:

* blind: the run's own resampling (``data.scale``, the same factor for every case),
  as a toolkit that ignores voxel sizes would;
* target: ``data.target_spacing`` = the voxel size the network was trained at (native
  voxel size / ``data.scale``), so every case is resampled by its own voxel size first.

At the native voxel size both are the same prediction (a check of the script). Dice,
HD95 and ASD are scored on each re-sampled grid, distances in mm. Prints a Markdown
table for BENCHMARKS.md:

    python benchmarks/spacing_effect.py bench_out/la-dev/mean_teacher-l4-s0 \
        --native 0.625 --spacings 0.625 0.8 1.0 1.25
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import numpy as np
import torch

from semiseg.api import load_predictors
from semiseg.data.io import Geometry
from semiseg.data.nnunet import Case
from semiseg.data.splits import load_split
from semiseg.engine.data import load_cases
from semiseg.evaluation import Predictor, evaluate_predictions, predict_cases
from semiseg.inference import rescale_volume


def acquire_at(case: Case, native: float, spacing: float) -> Case:
    """``case`` as if scanned at ``spacing`` mm isotropic (its file's grid is ``native``)."""
    factor = native / spacing
    image = rescale_volume(torch.from_numpy(case.image), factor).numpy()
    label = rescale_volume(torch.from_numpy(case.label), factor, label=True).numpy()
    geometry = Geometry(spacing=(spacing,) * 3, affine=np.diag([spacing] * 3 + [1.0]),
                        spacing_known=True)
    return Case(case.case_id, image, label, geometry)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a finished 3D run folder")
    parser.add_argument("--native", type=float, required=True,
                        help="the data set's voxel size in mm (isotropic)")
    parser.add_argument("--spacings", type=float, nargs="+", required=True)
    args = parser.parse_args()
    config, predictors, dataset = load_predictors([args.run], "best", None, None)
    (blind,) = predictors
    trained_at = args.native / config.data.scale
    target_config = copy.deepcopy(config)
    target_config.data.scale = 1.0
    target_config.data.target_spacing = [trained_at] * 3
    target = Predictor(blind.net, target_config, blind.device, blind.amp)
    val = load_cases(dataset, load_split(args.run / "split.json").val, config.data.normalize)
    print(f"{args.run}: trained at {trained_at:g} mm voxels; {len(val)} val volumes\n")
    print("| voxel size (mm) | mode | Dice % | HD95 (mm) | ASD (mm) |")
    print("|---|---|---|---|---|")
    for spacing in args.spacings:
        cases = [acquire_at(c, args.native, spacing) for c in val]
        for mode, predictor in (("blind (data.scale)", blind), ("target_spacing", target)):
            preds = predict_cases([predictor], cases, final=True)
            _, summary = evaluate_predictions(preds, cases, dataset.class_names, config)
            mean = summary["mean"]
            print(f"| {spacing:g} | {mode} | {100 * mean['dice']['mean']:.2f} ± "
                  f"{100 * mean['dice']['std']:.2f} | {mean['hd95']['mean']:.2f} | "
                  f"{mean['asd']['mean']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
