"""Per-case, per-class metric rows and their summary (mean ± std over cases)."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from semiseg.atomic import atomic_path, write_text_atomic
from semiseg.metrics.distance import surface_metrics
from semiseg.metrics.overlap import dice, jaccard

METRICS = ("dice", "jaccard", "hd95", "asd")
# summarised too when the rows carry them (e.g. HC18's head circumference error)
OPTIONAL_METRICS = ("hc_abs_diff_mm",)


def case_metrics(pred: np.ndarray, truth: np.ndarray, class_names: Sequence[str],
                 spacing: Sequence[float] | None = None, distances: bool = True,
                 empty_distance: str = "diagonal") -> list[dict[str, Any]]:
    """One row per foreground class of one case.

    Args:
        pred: Integer label map ``[*S]``.
        truth: Integer label map ``[*S]``.
        class_names: Names by label value (index 0 = background, skipped).
        spacing: Voxel size per axis (None = voxel units).
        distances: Also compute HD95 / ASD / ASSD.
        empty_distance: "diagonal" or "nan" (see ``EvalConfig``).

    Returns:
        Rows ``{"class", "dice", "jaccard", "hd95", "asd", "assd", "pred_empty",
        "truth_empty"}``.
    """
    rows = []
    for value, name in enumerate(class_names):
        if value == 0:
            continue
        p, t = pred == value, truth == value
        row: dict[str, Any] = {"class": name, "dice": dice(p, t), "jaccard": jaccard(p, t),
                               "pred_empty": not p.any(), "truth_empty": not t.any()}
        if distances:
            empty = math.nan if empty_distance == "nan" else None
            row.update(surface_metrics(p, t, spacing, empty_value=empty))
        rows.append(row)
    return rows


def summarize(rows: list[dict[str, Any]], metrics: Sequence[str] | None = None
              ) -> dict[str, Any]:
    """Mean ± std over cases per class, and of the per-case class means.

    Args:
        rows: Rows with keys ``case``, ``class`` and the metric names.
        metrics: Which; default :data:`METRICS` plus the optional ones the rows carry.

    Returns:
        ``{"per_class": {cls: {metric: {"mean", "std", "n"}}}, "mean": {metric: {...}}}``;
        NaN values (policy "nan") are left out and counted in ``n``.
    """
    if metrics is None:
        metrics = [*METRICS, *(m for m in OPTIONAL_METRICS if any(m in r for r in rows))]
    classes = list(dict.fromkeys(r["class"] for r in rows))
    out: dict[str, Any] = {"per_class": {}, "mean": {}}
    for cls in classes:
        out["per_class"][cls] = {}
        for m in metrics:
            vals = np.array([r[m] for r in rows if r["class"] == cls and m in r], dtype=float)
            out["per_class"][cls][m] = _stats(vals)
    cases = list(dict.fromkeys(r["case"] for r in rows))
    for m in metrics:
        per_case = []
        for case in cases:
            vals = np.array([r[m] for r in rows if r["case"] == case and m in r], dtype=float)
            vals = vals[~np.isnan(vals)]
            if len(vals):
                per_case.append(vals.mean())
        out["mean"][m] = _stats(np.array(per_case, dtype=float))
    return out


def _stats(vals: np.ndarray) -> dict[str, float]:
    vals = vals[~np.isnan(vals)]
    if len(vals) == 0:
        return {"mean": math.nan, "std": math.nan, "n": 0}
    return {"mean": float(vals.mean()), "std": float(vals.std()), "n": len(vals)}


def write_rows_csv(rows: list[dict[str, Any]], path: Path) -> None:
    """Per-case rows as CSV (atomic write)."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


def write_json(data: Any, path: Path) -> None:
    """JSON (atomic write; NaN written as null)."""
    write_text_atomic(path, json.dumps(_nan_to_none(data), indent=1))


def write_metrics(rows: list[dict[str, Any]], summary: dict[str, Any], folder: Path,
                  prefix: str = "") -> None:
    """``<prefix>metrics.csv``/``.json`` (per case and class) and ``<prefix>summary.json``."""
    write_rows_csv(rows, folder / f"{prefix}metrics.csv")
    write_json(rows, folder / f"{prefix}metrics.json")
    write_json(summary, folder / f"{prefix}summary.json")


def _nan_to_none(data: Any) -> Any:
    if isinstance(data, float) and math.isnan(data):
        return None
    if isinstance(data, dict):
        return {k: _nan_to_none(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_nan_to_none(v) for v in data]
    if isinstance(data, np.generic):
        return _nan_to_none(data.item())
    return data


def format_summary(summary: dict[str, Any], metrics: Sequence[str] | None = None) -> str:
    """A small text table: rows = classes + mean, columns = metrics (mean ± std).

    ``metrics`` defaults to those of the summary.
    """
    metrics = list(summary["mean"]) if metrics is None else metrics
    header = f"{'class':<14}" + "".join(f"{m:>20}" for m in metrics)
    lines = [header]
    scale = {"dice": 100.0, "jaccard": 100.0}
    for name, stats in [*summary["per_class"].items(), ("mean", summary["mean"])]:
        cells = []
        for m in metrics:
            s = stats[m]
            k = scale.get(m, 1.0)
            cells.append(f"{s['mean'] * k:>11.2f} ± {s['std'] * k:<6.2f}")
        lines.append(f"{name:<14}" + "".join(cells))
    return "\n".join(lines)
