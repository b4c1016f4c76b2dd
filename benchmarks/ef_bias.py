"""Signed errors of the LV read-outs: does a run's EF error come from a volume bias?

For every finished run given: the mean over its val patients of the signed LV EF, EDV
and ESV errors (prediction minus reference; volumes in the runs' units) from its
``eval/val_clinical.csv``, and the mean reference ESV. Prints a Markdown table:

    python benchmarks/ef_bias.py bench_out/acdc-dev/{supervised,selftrain,semiqc}-l7-s{0,1}
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path


def mean_of(rows: list[dict[str, str]], key: str) -> float:
    """Mean of a column over the patients where it is defined (an EF can be undefined)."""
    values = [float(r[key]) for r in rows if r.get(key) not in ("", None, "nan")]
    return sum(values) / len(values) if values else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    args = parser.parse_args()
    print("| run | LV EF bias (pp) | LV EDV bias | LV ESV bias | reference ESV |")
    print("|---|---|---|---|---|")
    for run in args.runs:
        with (run / "eval" / "val_clinical.csv").open(newline="") as f:
            rows = list(csv.DictReader(f))
        ef, edv, esv = (mean_of(rows, f"LV_{k}_err") for k in ("EF", "EDV", "ESV"))
        print(f"| {run.parent.name}/{run.name} | {ef:+.1f} | {edv:+.0f} | {esv:+.0f} | "
              f"{mean_of(rows, 'LV_ESV_ref'):.0f} |")


if __name__ == "__main__":
    main()
