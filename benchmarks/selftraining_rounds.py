"""Round by round: what the self-training runs (``semiqc``, ``selftrain``) admitted and reached.

For every finished ``semiqc-*`` and ``selftrain-*`` run below ``OUT``: the phases as the
method splits the run (:meth:`SelfTraining.phase_steps`), the mean accepted share of
pseudo-labeled images in each round (the ``accepted_share`` column of ``train.csv``,
logged every ``train.log_every`` steps; 1.0 for ``selftrain``, which admits everything)
and the val Dice at each phase's last validation (``val.csv``). Prints a Markdown table:

    python benchmarks/selftraining_rounds.py bench_out/acdc-dev
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from semiseg.engine.loop import read_run_config
from semiseg.methods import METHODS, method_config


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def phase_bounds(run: Path) -> list[tuple[str, int, int]]:
    """``(phase, first step, last step)`` of a run, steps counted from 1."""
    config = read_run_config(run)
    steps = METHODS.get(config.method.name).phase_steps(
        method_config(config.method.name, config.method.params), config.train.iterations)
    bounds, start = [], 0
    for phase, n in steps.items():
        bounds.append((phase, start + 1, start + n))
        start += n
    return bounds


def run_summary(run: Path) -> list[str]:
    """Cells: accepted share per round, then val Dice at the end of each phase."""
    train, val = _rows(run / "train.csv"), _rows(run / "val.csv")
    shares, dice = [], []
    for phase, first, last in phase_bounds(run):
        if phase != "supervised":
            logged = [float(r["accepted_share"]) for r in train
                      if first <= int(r["step"]) <= last and r.get("accepted_share")]
            shares.append(f"{np.mean(logged):.2f}" if logged else "n/a")
        at_end = [float(r["dice_mean"]) for r in val if first <= int(r["step"]) <= last]
        dice.append(f"{100 * at_end[-1]:.1f}" if at_end else "n/a")
    best = json.loads((run / "result.json").read_text())["val"]["dice"]["mean"]
    return [" / ".join(shares), " / ".join(dice), f"{100 * best:.2f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="a benchmark folder (e.g. bench_out/acdc-dev)")
    args = parser.parse_args()
    runs = sorted(p.parent for pattern in ("semiqc-*/result.json", "selftrain-*/result.json")
                  for p in args.out.glob(pattern))
    print("| run | accepted share, rounds 1 / 2 / 3 | val Dice % at the end of: supervised "
          "/ round 1 / 2 / 3 | Dice % of the best checkpoint (all metrics) |")
    print("|---|---|---|---|")
    for run in runs:
        print(f"| {run.name} | " + " | ".join(run_summary(run)) + " |")


if __name__ == "__main__":
    main()
