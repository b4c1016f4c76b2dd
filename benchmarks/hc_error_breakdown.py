"""Per-image head-circumference errors of finished HC18 runs: mean, median, tail, bias.

The mean HC error of a run hides whether it is a few outliers or a systematic offset
(the masks themselves measure +1.42 mm over the challenge reference). Reads each run's
``eval/val_metrics.csv``; prints one Markdown row per run.

    python benchmarks/hc_error_breakdown.py bench_out/hc18-dev
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np


def breakdown(run: Path) -> dict[str, float] | None:
    """HC error statistics (mm) of one run, None without HC columns."""
    path = run / "eval" / "val_metrics.csv"
    if not path.is_file():
        return None
    rows = [r for r in csv.DictReader(path.open()) if r.get("hc_ref_mm")]
    if not rows:
        return None
    signed = np.array([float(r["hc_mm"]) - float(r["hc_ref_mm"]) for r in rows])
    error = np.abs(signed)
    return {"n": len(rows), "mean": error.mean(), "median": float(np.median(error)),
            "p90": float(np.percentile(error, 90)), "max": error.max(), "bias": signed.mean()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="a bench output folder (one sub-folder per run)")
    args = parser.parse_args()
    print("| run | images | mean | median | 90th pct | max | bias (signed mean) |")
    print("|---|---|---|---|---|---|---|")
    for run in sorted(Path(args.out).iterdir()):
        stats = breakdown(run) if run.is_dir() else None
        if stats is not None:
            print(f"| {run.name} | {stats['n']} | {stats['mean']:.2f} | {stats['median']:.2f} | "
                  f"{stats['p90']:.2f} | {stats['max']:.2f} | {stats['bias']:+.2f} |")


if __name__ == "__main__":
    main()
