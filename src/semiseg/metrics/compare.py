"""Paired comparison of two methods on the same val patients (is a difference real).

A leaderboard's mean ± std over seeds says nothing about whether method A beats method B
on *these patients*: with 4 val volumes (LA) or 10 val patients (ACDC), a few points can
be one case. This pairs the two methods' per-case scores (each run's
``eval/val_metrics.csv``, the mean over classes per case; several runs of a method, e.g.
its seeds, are averaged per case first), averages the cases of one patient (ACDC's ED
and ES frames are not independent samples), and reports on the patient differences:

* the mean difference with a percentile bootstrap 95 % confidence interval
  (patients resampled with replacement, seeded);
* the Wilcoxon signed-rank test (two-sided), the test the segmentation literature uses
  for paired per-case scores (with n patients its smallest p is 2 / 2^n: 0.125 for 4);
* wins / losses / ties.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from semiseg.config_yaml import read_yaml
from semiseg.data.io import read_json_object
from semiseg.data.splits import patients_like_train
from semiseg.engine.logging import read_csv_rows
from semiseg.errors import SemisegError

# metrics where lower is better (the sign of "A better than B" flips)
LOWER_IS_BETTER = frozenset({"hd95", "asd", "assd"})


def case_scores(run_dir: str | Path, metric: str = "dice") -> dict[str, float]:
    """Per-case mean over classes of ``metric`` from a run's ``eval/val_metrics.csv``.

    NaN values (e.g. distances left out for empty masks) are skipped; a case whose every
    class is NaN is left out.

    Raises:
        SemisegError: no such folder, the run has no evaluation, no such metric, or a row
            is damaged (a blank case name, a value that is not a number), naming the line.
    """
    if not Path(run_dir).is_dir():
        raise SemisegError(f"{run_dir}: no such run folder")
    path = Path(run_dir) / "eval" / "val_metrics.csv"
    if not path.is_file():
        raise SemisegError(f"{path}: no per-case metrics (is the run finished?)")
    rows = read_csv_rows(path, blank_or_numbers=(metric,), names=("case",))
    if rows and metric not in rows[0]:
        raise SemisegError(f"{path}: no column {metric!r} (columns: {', '.join(rows[0])})")
    per_case: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        per_case[row["case"]].append(float(row[metric]) if row[metric] else math.nan)
    return {case: float(np.nanmean(v)) for case, v in per_case.items()
            if not all(math.isnan(x) for x in v)}


def patient_scores(run_dirs: Sequence[str | Path], metric: str = "dice") -> dict[str, float]:
    """Per-patient score of a method: cases averaged over its runs, then per patient.

    Patients come from the first run's ``split.json`` (``patients``: case -> patient;
    a case without one is its own patient). Only cases every run scored are kept; when
    the runs are folds of a cross-validation (``data.folds`` in their ``config.yaml``),
    each scored only its fold, and a case is averaged over the runs that scored it
    (those scored by the most runs are kept: one per seed when every fold is there).
    """
    if not run_dirs:
        raise SemisegError("no run folder given")
    tables = [case_scores(r, metric) for r in run_dirs]
    if all(_is_fold(r) for r in run_dirs):
        counts = Counter(c for t in tables for c in t)
        most = max(counts.values(), default=0)
        cases = sorted(c for c, k in counts.items() if k == most)
    else:
        cases = sorted(set.intersection(*(set(t) for t in tables)))
    split = Path(run_dirs[0]) / "split.json"
    patients = read_json_object(split, "missing").get("patients", {}) if split.is_file() else {}
    # splits written before val patients were named (case -> itself): name them now
    unnamed = [c for c in cases if patients.get(c, c) == c]
    patients = {**patients, **patients_like_train(unnamed, patients)}
    grouped: dict[str, list[float]] = defaultdict(list)
    for case in cases:
        grouped[patients.get(case, case)].append(
            float(np.mean([t[case] for t in tables if case in t])))
    return {p: float(np.mean(v)) for p, v in grouped.items()}


def cv_folds(config: dict[str, Any]) -> tuple[int, int]:
    """``(folds, fold)`` of a run's ``config.yaml`` content; ``(0, 0)`` without folds."""
    data = config.get("data") or {}
    return int(data.get("folds", 0) or 0), int(data.get("fold", 0) or 0)


def _is_fold(run_dir: str | Path) -> bool:
    """Whether a run is one fold of a cross-validation (``data.folds`` >= 2)."""
    path = Path(run_dir) / "config.yaml"
    return path.is_file() and cv_folds(read_yaml(path))[0] >= 2


def paired_comparison(a: dict[str, float], b: dict[str, float], metric: str = "dice",
                      resamples: int = 10000, seed: int = 0) -> dict[str, Any]:
    """Paired statistics of ``a - b`` over the patients both score.

    Args:
        a: Patient -> score of method A.
        b: Patient -> score of method B.
        metric: Which metric (for its direction: wins count lower HD95/ASD as better).
        resamples: Bootstrap resamples.
        seed: Bootstrap seed (the interval is reproducible).

    Returns:
        ``n``, ``mean_diff`` (A - B, the metric's units), ``ci_low``/``ci_high`` (95 %
        bootstrap), ``p_wilcoxon`` (two-sided; 1.0 when every difference is 0, NaN
        below 2 patients), ``wins``/``losses``/``ties`` of A.

    Raises:
        SemisegError: no patient in common.
    """
    from scipy.stats import wilcoxon

    common = sorted(set(a) & set(b))
    if not common:
        raise SemisegError("the two methods share no scored val case")
    diff = np.array([a[p] - b[p] for p in common])
    rng = np.random.default_rng(seed)
    boot = diff[rng.integers(0, len(diff), (resamples, len(diff)))].mean(1)
    better = -diff if metric in LOWER_IS_BETTER else diff
    if len(diff) < 2:
        p_value = math.nan
    elif not diff.any():
        p_value = 1.0
    else:
        p_value = float(wilcoxon(diff).pvalue)
    return {"n": len(diff), "mean_diff": float(diff.mean()),
            "ci_low": float(np.percentile(boot, 2.5)), "ci_high": float(np.percentile(boot, 97.5)),
            "p_wilcoxon": p_value, "wins": int((better > 0).sum()),
            "losses": int((better < 0).sum()), "ties": int((better == 0).sum())}


def format_comparison(stats: dict[str, Any], scale: float = 1.0) -> str:
    """``+34.5 [+29.1, +39.8], p=0.002, 10/0`` (wins/losses); ``scale`` 100 for Dice %."""
    def signed(x: float) -> str:
        return f"{x * scale:+.1f}"

    p = stats["p_wilcoxon"]
    p_text = "p n/a" if math.isnan(p) else (f"p={p:.3f}" if p >= 0.001 else "p<0.001")
    return (f"{signed(stats['mean_diff'])} [{signed(stats['ci_low'])}, "
            f"{signed(stats['ci_high'])}], {p_text}, {stats['wins']}/{stats['losses']}")
