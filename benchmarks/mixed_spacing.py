"""Training on scans from two scanners with different voxel sizes: does
``data.target_spacing`` help a 3D network, and on which scanner's cases?

``benchmarks/spacing_effect.py`` measures a network trained on one voxel size and shown
another. This is the other case a hospital meets: the training set itself mixes two
scanners. On the embedded synthetic phantom (16 patients, 96x96x16 at 1.5 x 1.5 x 8 mm),
half the patients are re-sampled in-plane to 1.0 mm (144x144x16; image trilinear, label
nearest, the affine says 1.0 mm), as if a second scanner had acquired them: "scanner B"
is every second patient of the labeled order and of the val patients, so the 4 labeled
patients are A, B, A, B and the 4 val patients two of each. The same anatomy then spans
1.5x more voxels on B's scans. Two ways of training the same 3D network
(``benchmarks/grids/mixed-spacing-*.yaml``): ``blind`` (each scan as stored) and
``target_spacing`` (``data.target_spacing: median``: every scan re-sampled by its own
voxel size to the training scans' median, and each val prediction back to its own grid).

    python benchmarks/mixed_spacing.py make      # the data set (bench_out/mixed-spacing/data)
    semiseg bench run benchmarks/grids/mixed-spacing-blind.yaml
    semiseg bench run benchmarks/grids/mixed-spacing-target.yaml
    python benchmarks/mixed_spacing.py table     # val scores per scanner, Markdown

``benchmarks/mixed_spacing.sh`` does all four.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from collections import defaultdict
from pathlib import Path

import nibabel as nib
import numpy as np
import torch

from semiseg.data.synthetic import SPACING, generate
from semiseg.inference import rescale_volume
from semiseg.leaderboard import format_stat, seed_stats
from semiseg.metrics.compare import case_scores

OUT = Path("bench_out/mixed-spacing")
SCANNER_B_MM = 1.0  # in-plane voxel size of the second scanner (A: SPACING[0] = 1.5 mm)
MODES = ("blind", "target_spacing")


def scanner_b_patients(splits: dict) -> set[str]:
    """Every second patient of the labeled order and of the val patients."""
    val = sorted({c.split("_")[0] for c in splits["val"]})
    return set(splits["labeled_patients_order"][1::2]) | set(val[1::2])


def make(root: Path) -> None:
    """Generate the phantom and re-sample scanner B's patients to 1.0 mm in-plane."""
    if (root / "dataset.json").is_file():
        print(f"{root}: exists")
        return
    generate(root, num_patients=16, shape=(96, 96, 16))
    splits = json.loads((root / "splits.json").read_text())
    factor = SPACING[0] / SCANNER_B_MM
    b = scanner_b_patients(splits)
    affine = np.diag([SCANNER_B_MM, SCANNER_B_MM, SPACING[2], 1.0])
    for folder, is_label in (("imagesTr", False), ("labelsTr", True)):
        for path in sorted((root / folder).glob("*.nii.gz")):
            if path.name.split("_")[0] not in b:
                continue
            array = torch.from_numpy(np.asarray(nib.load(str(path)).dataobj))
            factors = (factor, factor, 1.0)
            if is_label:
                out = rescale_volume(array, factors, label=True).numpy().astype(np.uint8)
            else:
                out = rescale_volume(array[None].float(), factors)[0].numpy()
            nib.save(nib.Nifti1Image(out, affine), str(path))
    meta = json.loads((root / "dataset.json").read_text())
    meta["scanner_b"] = {"patients": sorted(b), "spacing_mm": [SCANNER_B_MM, SCANNER_B_MM,
                                                                SPACING[2]]}
    (root / "dataset.json").write_text(json.dumps(meta, indent=1))
    print(f"{root}: scanner B (1.0 mm in-plane): {', '.join(sorted(b))}")


def ef_errors(run: Path) -> dict[str, float]:
    """Per val patient: absolute LV EF error (percentage points)."""
    with (run / "eval" / "val_clinical.csv").open() as f:
        return {r["patient"]: abs(float(r["LV_EF_err"])) for r in csv.DictReader(f)}


def table(root: Path) -> None:
    """Print the Markdown table: per mode, seeds' mean ± std (the leaderboard's) per scanner."""
    b = set(json.loads((root / "data" / "dataset.json").read_text())["scanner_b"]["patients"])

    def on(scanner: str, case_or_patient: str) -> bool:
        return (case_or_patient.split("_")[0] in b) == (scanner == "B")

    print("| training | seeds | scanner A val: Dice % | scanner B val: Dice % | all val: "
          "Dice % | HD95 mm (A / B) | LV EF error pp (A / B) | median s/step |")
    print("|---|---|---|---|---|---|---|---|")
    for mode in MODES:
        runs = [r for r in sorted((root / mode).glob("supervised-l4-s*"))
                if (r / "result.json").is_file()]
        if not runs:
            continue
        per_seed: dict[str, list[float]] = defaultdict(list)
        for run in runs:
            dice, hd95, ef = case_scores(run, "dice"), case_scores(run, "hd95"), ef_errors(run)
            for scanner in ("A", "B"):
                per_seed[f"dice {scanner}"].append(
                    100 * statistics.fmean(v for c, v in dice.items() if on(scanner, c)))
                per_seed[f"hd {scanner}"].append(
                    statistics.fmean(v for c, v in hd95.items() if on(scanner, c)))
                per_seed[f"ef {scanner}"].append(
                    statistics.fmean(e for p, e in ef.items() if on(scanner, p)))
            per_seed["dice all"].append(100 * statistics.fmean(dice.values()))
            per_seed["step"].append(json.loads((run / "result.json").read_text())
                                    ["median_seconds_per_iteration"])
        stat = {k: seed_stats(v) for k, v in per_seed.items()}
        print(f"| {mode} | {len(runs)} | {format_stat(stat['dice A'])} | "
              f"{format_stat(stat['dice B'])} | {format_stat(stat['dice all'])} | "
              f"{stat['hd A']['mean']:.1f} / {stat['hd B']['mean']:.1f} | "
              f"{stat['ef A']['mean']:.1f} / {stat['ef B']['mean']:.1f} | "
              f"{stat['step']['mean']:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("make", "table"))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if args.what == "make":
        make(args.out / "data")
    else:
        table(args.out)


if __name__ == "__main__":
    main()
