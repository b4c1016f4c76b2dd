"""How well a semiqc run's quality network ranks real segmentations (issue 8).

The quality network predicts each segmentation's Dice without its truth. Scored here on
the val predictions (each run's ``eval/predictions``, nothing re-predicted) of the
semiqc run itself and of every other finished run given, with the same code as
``semiseg qc RUN --pred FOLDER``: per source the Spearman rank correlation between
predicted and true Dice over the val volumes, then pooled over all sources (a wider
range of quality, from failing to good networks), and how well the predicted quality
separates bad segmentations (true Dice below ``--bad``) from the rest (ROC AUC). Prints
Markdown tables:

    python benchmarks/qc_ranking.py bench_out/acdc-dev/semiqc-l3-s0 bench_out/acdc-dev/*-s0
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from scipy import stats

from semiseg.qc_report import quality_control


def auc(scores: list[float], bad: list[bool]) -> float:
    """ROC AUC of low predicted quality for bad cases (0.5 = chance, 1 = perfect)."""
    pos = [-s for s, b in zip(scores, bad, strict=True) if b]
    neg = [-s for s, b in zip(scores, bad, strict=True) if not b]
    if not pos or not neg:
        return float("nan")
    return float(stats.mannwhitneyu(pos, neg).statistic / (len(pos) * len(neg)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("qc_run", type=Path, help="a finished semiqc run")
    parser.add_argument("sources", type=Path, nargs="*",
                        help="other finished runs whose val predictions are judged")
    parser.add_argument("--bad", type=float, default=0.7, help="true Dice below: a bad case")
    args = parser.parse_args()
    sources = [args.qc_run, *(s for s in args.sources if s.resolve() != args.qc_run.resolve())]
    pooled_pred, pooled_true = [], []
    print(f"quality network of {args.qc_run}\n")
    print("| predictions of | val volumes | true Dice % (min-max) | Spearman rho (p) | "
          f"AUC, true Dice < {args.bad} (bad cases) |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        for source in sources:
            pred = source / "eval" / "predictions"
            if not pred.is_dir():
                continue
            result = quality_control(args.qc_run, pred, out=Path(scratch) / source.name)
            rows = [r for r in result["cases"] if "true_dice" in r]
            q = [r["predicted_quality"] for r in rows]
            t = [r["true_dice"] for r in rows]
            rho = result["summary"].get("spearman", {})
            bad = [x < args.bad for x in t]
            print(f"| {source.name} | {len(rows)} | {100 * np.mean(t):.1f} ({100 * min(t):.0f}-"
                  f"{100 * max(t):.0f}) | {rho.get('rho', float('nan')):.2f} "
                  f"({rho.get('p', float('nan')):.2g}) | {auc(q, bad):.2f} ({sum(bad)}) |",
                  flush=True)
            pooled_pred += q
            pooled_true += t
    rho, p = stats.spearmanr(pooled_pred, pooled_true)
    bad = [x < args.bad for x in pooled_true]
    print(f"| all pooled | {len(pooled_true)} | {100 * np.mean(pooled_true):.1f} | "
          f"{rho:.2f} ({p:.2g}) | {auc(pooled_pred, bad):.2f} ({sum(bad)}) |")


if __name__ == "__main__":
    main()
