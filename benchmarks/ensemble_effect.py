"""Ensembles of seeds against their members, on a benchmark folder's finished runs.

Groups the finished runs of ``OUT`` (``<method>-l<labeled>-s<seed>`` folders with a
``result.json``) by method and labeled budget; every group with two or more seeds is
evaluated as one ensemble (mean probability of the members' best checkpoints, on their
shared val cases: ``semiseg evaluate RUN RUN ... -o DIR``) and printed beside the mean
of its members' own scores. Prints a Markdown table:

    python benchmarks/ensemble_effect.py bench_out/acdc-dev [--groups bcp-l3,abd-l3]
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from semiseg.api import evaluate_run

RUN_NAME = re.compile(r"^(?P<group>.+-l\d+)-s(?P<seed>\d+)$")


def _scores(summary: dict, clinical: dict | None) -> list[float]:
    mean = summary["mean"] if "mean" in summary else summary
    out = [100 * mean["dice"]["mean"], mean["hd95"]["mean"], mean["asd"]["mean"]]
    out.append(clinical["LV_EF"]["mae"] if clinical else float("nan"))
    return out


def member_scores(run: Path) -> list[float]:
    """Dice %, HD95, ASD, LV EF error of one run's own evaluation (its val summary)."""
    summary = json.loads((run / "eval" / "val_summary.json").read_text())
    return _scores(summary, json.loads((run / "result.json").read_text()).get("clinical"))


def main() -> None:
    """Evaluate every multi-seed group as an ensemble; print members vs ensemble."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="benchmark output folder (bench_out/<grid>)")
    parser.add_argument("--groups", default="", help="only these groups, e.g. bcp-l3,abd-l3")
    args = parser.parse_args()
    groups: dict[str, list[Path]] = defaultdict(list)
    for run in sorted(args.out.iterdir()):
        match = RUN_NAME.match(run.name)
        if match and (run / "result.json").is_file():
            groups[match["group"]].append(run)
    wanted = [g for g in args.groups.split(",") if g]
    print("| runs | seeds | | Dice % | HD95 | ASD | LV EF error (pp) | evaluate wall (s) |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        for group, runs in groups.items():
            if len(runs) < 2 or (wanted and group not in wanted):
                continue
            members = np.array([member_scores(r) for r in runs])
            t0 = time.perf_counter()
            summary, _ = evaluate_run(runs, out=Path(scratch) / group)
            wall = time.perf_counter() - t0
            ensemble = _scores(summary, summary.get("clinical"))
            seeds = ",".join(RUN_NAME.match(r.name)["seed"] for r in runs)

            def cells(values: list[float] | np.ndarray) -> str:
                return " | ".join("" if np.isnan(v) else f"{v:.2f}" for v in values)

            print(f"| {group} | {seeds} | members' mean | {cells(members.mean(0))} | |")
            print(f"| | | ensemble | {cells(ensemble)} | {wall:.1f} |", flush=True)


if __name__ == "__main__":
    main()
