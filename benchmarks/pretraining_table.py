"""Issue 7's table: supervised from scratch vs the runs that start from a pre-training.

Reads two grids' finished runs (`semiseg bench run benchmarks/grids/acdc-spcl-scratch.yaml`
and `.../acdc-spcl-pretrained.yaml`) and the pre-training runs, and prints one Markdown
table per labeled budget: every method's val Dice / HD95 / LV EF error (mean ± std over
its finished seeds), its per-patient paired difference to supervised from scratch
(seeds averaged, as `semiseg compare`), and minutes per run; then each pre-training's
wall time:

    python benchmarks/pretraining_table.py benchmarks/results/acdc-spcl

(the runs' records, committed; `bench_out/acdc-spcl` holds the same runs with weights).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from semiseg.leaderboard import collect, format_stat
from semiseg.metrics.compare import format_comparison, paired_comparison

ORDER = ["supervised", "spcl", "mean_teacher"]  # fine-tuning without, then with unlabeled


def rows_by_budget(scratch: Path, pretrained: Path) -> dict[int, list[tuple[str, dict[str, Any]]]]:
    """Labeled budget -> [(row name, leaderboard row)], scratch supervised first."""
    table: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for folder, start in ((scratch, "from scratch"), (pretrained, "from pre-training")):
        for row in sorted(collect(folder), key=lambda r: ORDER.index(r["method"])
                          if r["method"] in ORDER else len(ORDER)):
            table.setdefault(row["labeled"], []).append((f"{row['method']}, {start}", row))
    return dict(sorted(table.items()))


def median_step(runs: list[str]) -> float:
    """Median over runs of each run's median step time: wall time also counts validation
    and anything else the machine ran meanwhile."""
    return statistics.median(json.loads((Path(r) / "result.json").read_text())
                             ["median_seconds_per_iteration"] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="folder with scratch/, pretrained/, pretrain-s*/")
    args = parser.parse_args()
    for labeled, rows in rows_by_budget(args.root / "scratch", args.root / "pretrained").items():
        base = dict(rows).get("supervised, from scratch")
        # collect() already scored each row per patient, seeds averaged (patient_dice)
        base_scores = base.get("patient_dice") if base else None
        print(f"\n{labeled} labeled patient(s)\n")
        print("| method | seeds | Dice % | HD95 (voxel) | LV EF error (pp) | "
              "Dice vs supervised from scratch, per patient: diff [95% CI], p, wins/losses | "
              "minutes/run | median s/step |")
        print("|---|---|---|---|---|---|---|---|")
        for name, row in rows:
            paired = ""
            if base_scores is not None and row is not base and "patient_dice" in row:
                stats = paired_comparison(row["patient_dice"], base_scores)
                paired = format_comparison(stats, 100)
            seeds = ",".join(str(s) for s in row["seeds"])
            print(f"| {name} | {seeds} | {format_stat(row['dice'], 100)} | "
                  f"{format_stat(row['hd95'])} | {format_stat(row['lv_ef_mae'], 1, 1)} | "
                  f"{paired} | {format_stat(row['wall_minutes'], 1, 1)} | "
                  f"{median_step(row['runs']):.3f} |")
    print()
    for run in sorted(args.root.glob("pretrain-s*")):
        result_path = run / "result.json"
        if result_path.is_file():
            result = json.loads(result_path.read_text())
            print(f"pre-training {run.name}: {result['wall_seconds'] / 60:.1f} minutes wall, "
                  f"{result['iterations']} steps, median step "
                  f"{result['median_seconds_per_iteration']:.3f} s")


if __name__ == "__main__":
    main()
