"""What connected-component post-processing does to finished runs' val scores.

For every run folder given (its saved best-checkpoint val predictions,
``eval/predictions``), scores the predictions as they are and after each mode of
:mod:`semiseg.postprocess`, with the same evaluation code as ``semiseg evaluate --pred
... --postprocess MODE``. Nothing is re-predicted, so it costs metrics only. A second
table applies each mode to the val *ground truth* of each data set: the Dice of the
cleaned truth against the truth says how much real anatomy a mode would delete from a
perfect prediction (1.0 = nothing). Prints Markdown tables for BENCHMARKS.md:

    python benchmarks/postprocess_effect.py bench_out/acdc-dev/abd-l3-s0 ...
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from semiseg.api import evaluate_predictions_folder
from semiseg.data.nnunet import open_dataset
from semiseg.data.splits import load_split
from semiseg.engine.loop import read_run_config
from semiseg.evaluation import class_dice
from semiseg.postprocess import POSTPROCESS_MODES, postprocess_labels


def _cells(summary: dict) -> list[str]:
    mean = summary["mean"]
    cells = [f"{100 * mean['dice']['mean']:.2f}", f"{mean['hd95']['mean']:.2f}",
             f"{mean['asd']['mean']:.2f}"]
    clinical = summary.get("clinical")
    if clinical:
        cells += [f"{clinical['LV_EF']['mae']:.2f}", f"{clinical['RV_EF']['mae']:.2f}"]
    else:
        cells += ["", ""]
    return cells


def score_run(run_dir: Path, scratch: Path) -> list[list[str]]:
    """One table row per mode for one run (the run's name on the first)."""
    rows = []
    for mode in POSTPROCESS_MODES:
        summary, _ = evaluate_predictions_folder(run_dir / "eval" / "predictions", None,
                                                 str(run_dir), "val",
                                                 scratch / run_dir.name / mode, mode)
        rows.append([run_dir.name if mode == "none" else "", mode, *_cells(summary)])
    return rows


def truth_survival(run_dir: Path) -> dict[str, tuple[float, float]]:
    """Per mode: mean and minimum over val cases of Dice(mode(truth), truth)."""
    config = read_run_config(run_dir)
    dataset = open_dataset(config.data.root, config.data.case_table)
    ids = load_split(run_dir / "split.json").val
    labels = [dataset.load_case(c).label for c in ids]
    out = {}
    for mode in POSTPROCESS_MODES[1:]:
        dice = [class_dice(postprocess_labels(t, mode), t, dataset.num_classes).mean()
                for t in labels]
        out[mode] = (float(np.mean(dice)), float(np.min(dice)))
    return out


def main() -> None:
    """Score the given runs with every mode; print the two tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="finished run folders")
    args = parser.parse_args()
    print("| run | post-processing | Dice % | HD95 | ASD | LV EF error (pp) | RV EF error (pp) |")
    print("|---|---|---|---|---|---|---|")
    truths: dict[str, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for run_dir in args.runs:
            for row in score_run(run_dir, Path(scratch)):
                print("| " + " | ".join(row) + " |", flush=True)
            root = str(Path(json.loads((run_dir / "result.json").read_text())["data"])
                       .resolve())
            if root not in truths:
                truths[root] = truth_survival(run_dir)
    print("\n| data set (val truth) | mode | mean Dice(mode(truth), truth) | worst case |")
    print("|---|---|---|---|")
    for root, modes in truths.items():
        for mode, (mean, worst) in modes.items():
            print(f"| {root} | {mode} | {mean:.4f} | {worst:.4f} |")


if __name__ == "__main__":
    main()
