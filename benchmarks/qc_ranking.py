"""How well a semiqc run's quality network ranks real segmentations (issue 8).

The quality network predicts each segmentation's Dice without its truth. Scored here on
the val predictions (each run's ``eval/predictions``, nothing re-predicted) of the
semiqc run itself and of every other finished run given, with the same code as
``semiseg qc RUN --pred FOLDER``: per source the Spearman rank correlation between
predicted and true Dice over the val volumes, then pooled over all sources (a wider
range of quality, from failing to good networks), how well the predicted quality
separates bad segmentations (true Dice below ``--bad``) from the rest (ROC AUC), and how
well ``semiseg qc``'s flags catch them: suspect by predicted quality alone (below the
run's ``qc_threshold``), and also when the patient's clinical read-outs are implausible
(sensitivity = bad volumes flagged, specificity = good ones not flagged). Prints
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


def flag_rates(flags: list[bool], bad: list[bool]) -> str:
    """``sensitivity / specificity`` of ``flags`` for the ``bad`` cases, in %."""
    caught = sum(f for f, b in zip(flags, bad, strict=True) if b)
    spared = sum(not f for f, b in zip(flags, bad, strict=True) if not b)
    n_bad = sum(bad)
    sens = f"{100 * caught / n_bad:.0f}" if n_bad else "n/a"
    spec = f"{100 * spared / (len(bad) - n_bad):.0f}" if len(bad) > n_bad else "n/a"
    return f"{sens} / {spec}"


def implausible_cases(patients: list[dict]) -> set[str]:
    """The ED and ES cases of patients whose read-outs are implausible."""
    return {r[k] for r in patients if r.get("implausible") for k in ("ed", "es")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("qc_run", type=Path, help="a finished semiqc run")
    parser.add_argument("sources", type=Path, nargs="*",
                        help="other finished runs whose val predictions are judged")
    parser.add_argument("--bad", type=float, default=0.7, help="true Dice below: a bad case")
    args = parser.parse_args()
    sources = [args.qc_run, *(s for s in args.sources if s.resolve() != args.qc_run.resolve())]
    pooled_pred, pooled_true, pooled_qc, pooled_any = [], [], [], []
    print(f"quality network of {args.qc_run}\n")
    print("| predictions of | val volumes | true Dice % (min-max) | Spearman rho (p) | "
          f"AUC, true Dice < {args.bad} (bad cases) | flags: QC, sens / spec % | "
          "flags: QC or implausible read-outs, sens / spec % |")
    print("|---|---|---|---|---|---|---|")
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
            odd = implausible_cases(result["patients"])
            by_qc = [bool(r["suspect"]) for r in rows]
            by_any = [f or r["case"] in odd for f, r in zip(by_qc, rows, strict=True)]
            print(f"| {source.name} | {len(rows)} | {100 * np.mean(t):.1f} ({100 * min(t):.0f}-"
                  f"{100 * max(t):.0f}) | {rho.get('rho', float('nan')):.2f} "
                  f"({rho.get('p', float('nan')):.2g}) | {auc(q, bad):.2f} ({sum(bad)}) | "
                  f"{flag_rates(by_qc, bad)} | {flag_rates(by_any, bad)} |", flush=True)
            pooled_pred += q
            pooled_true += t
            pooled_qc += by_qc
            pooled_any += by_any
    rho, p = stats.spearmanr(pooled_pred, pooled_true)
    bad = [x < args.bad for x in pooled_true]
    print(f"| all pooled | {len(pooled_true)} | {100 * np.mean(pooled_true):.1f} | "
          f"{rho:.2f} ({p:.2g}) | {auc(pooled_pred, bad):.2f} ({sum(bad)}) | "
          f"{flag_rates(pooled_qc, bad)} | {flag_rates(pooled_any, bad)} |")


if __name__ == "__main__":
    main()
