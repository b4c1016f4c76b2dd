"""Benchmark grids (methods x labeled budgets x seeds) and their leaderboard.

A grid file::

    configs: [configs/acdc/dev.yaml]     # run configs, relative to the grid file
    set: [train.iterations=500]           # overrides for every run; "{seed}",
                                          # "{labeled}" and "{fold}" become the run's
                                          # own, e.g. train.init_from=pre-s{seed}/last.pt
    methods: [supervised, mean_teacher]
    labeled: [3, 7]                       # labeled patients (or percent, see budget)
    budget: patients                      # "patients" (data.num_labeled) or "percent"
    seeds: [0, 1]
    folds: 0                              # K >= 2: K-fold cross-validation of every run
    out: ../bench_out/acdc-dev            # relative to the grid file
    records: results/acdc-dev             # optional, relative to the grid file: a copy
                                          # of each finished run's record (no weights)

Each run lives in ``out/<method>-l<labeled>-s<seed>`` (``-f<fold>-s<seed>`` with folds):
a finished run (``result.json``) is skipped, an interrupted one resumes from its last
checkpoint. With ``records``, each finished run's record (:mod:`semiseg.run_records`:
result, config, split, logs, per-case tables; no weights, no images) is also kept
there, e.g. in version control, and a run whose record is there but whose folder is
missing (a new machine) is restored from it instead of trained again.
:func:`collect` reads every finished run below ``out`` into a leaderboard (mean ±
population std over seeds of each metric, per class too) written as CSV, Markdown,
plots and a static HTML report. With folds, a seed counts once all its K fold runs are
finished, and its score is over all patients (each validated once, by the fold that
held it out).
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from semiseg.atomic import atomic_path, write_text_atomic
from semiseg.config import from_dict, load_config
from semiseg.config_yaml import read_yaml
from semiseg.errors import ConfigError, RunPastDeadlineError, SemisegError
from semiseg.metrics.compare import (
    cv_folds,
    format_comparison,
    paired_comparison,
    patient_scores,
)
from semiseg.metrics.report import METRICS, OPTIONAL_METRICS
from semiseg.precision import PRECISION_NAMES
from semiseg.run_records import has_record, read_result, restore_record, save_record

# every other method of a budget is compared with this one, patient by patient
BASELINE = "supervised"


@dataclass
class Grid:
    """A benchmark grid (see the module docstring)."""

    methods: list[str]
    labeled: list[int]
    seeds: list[int]
    out: str
    configs: list[str] = field(default_factory=list)
    set: list[str] = field(default_factory=list)
    budget: str = "patients"
    folds: int = 0
    records: str = ""


def read_grid(path: str | Path) -> tuple[Grid, Path]:
    """The grid and the folder its relative paths start from."""
    path = Path(path)
    grid = from_dict(Grid, read_yaml(path), prefix="grid.")
    for method in grid.methods:  # fail before the first run, not in the middle of the grid
        load_config(None, [f"method.name={method}"])
    if not grid.methods or not grid.labeled or not grid.seeds:
        raise ConfigError(f"{path}: methods, labeled and seeds must not be empty")
    if grid.budget not in ("patients", "percent"):
        raise ConfigError(f"{path}: budget must be 'patients' or 'percent', got {grid.budget!r}")
    if grid.folds < 0 or grid.folds == 1:
        raise ConfigError(f"{path}: folds must be 0 (one split) or >= 2, got {grid.folds}")
    return grid, path.parent


def run_grid(grid_path: str | Path, overrides: list[str] | None = None,
             only: dict[str, list[Any]] | None = None, until: float | None = None,
             step_times: dict[str, float] | None = None, speed_factor: float = 1.0) -> Path:
    """Train every run of the grid that is not finished; returns the output folder.

    Args:
        grid_path: The grid YAML.
        overrides: ``key=value`` settings for every run.
        only: Restrict to a subset, in the given order, e.g.
            ``{"methods": ["bcp"], "labeled": [3], "seeds": [0]}`` (each must be in the grid).
        until: A deadline (epoch seconds): each run starts only if its estimated time
            (:func:`semiseg.grid_status.fits_before`) ends before it; the others are
            skipped with a message and the next ones tried. A run that starts and then
            turns out too slow on this machine stops at a logging step (its ``last.pt``
            kept); its measured step over the estimate's then scales ``speed_factor`` for
            the runs after it.
        step_times: Seconds per step of methods with no finished run, for that estimate.
        speed_factor: This machine's step time over that of the runs (or ``step_times``)
            the estimates borrow from (see :func:`semiseg.grid_status.grid_status`).
    """
    grid, base = read_grid(grid_path)
    for key, values in (only or {}).items():
        outside = [v for v in values if v not in getattr(grid, key)]
        if outside:
            raise ConfigError(f"{grid_path}: {key} {outside} are not in the grid's "
                              f"{getattr(grid, key)}")
        setattr(grid, key, list(values))
    configs = [base / c for c in grid.configs]
    for run in grid_runs(grid, base, overrides):
        estimate = None
        if until is not None:
            from semiseg.grid_status import fits_before, grid_status  # it imports this module

            # read again before each run: the last one's step time now counts
            status = {r.name: r for r in grid_status(grid_path, overrides, step_times,
                                                     speed_factor)}
            fits, why = fits_before(status[run.name], until)
            if not fits:
                print(why, flush=True)
                continue
            estimate = status[run.name].seconds_per_step
        try:
            _train_or_resume(run.run_dir, configs, run.settings, run.record, until)
        except RunPastDeadlineError as err:
            print(err, flush=True)
            if estimate:
                speed_factor *= max(1.0, err.seconds_per_step / estimate)
                print(f"the estimates of the runs after it now take steps {speed_factor:.2f}x "
                      "as long as the runs they borrow from", flush=True)
    return base / grid.out


@dataclass
class GridRun:
    """One run of a grid: what it is, where it lives, how it is configured."""

    name: str
    method: str
    labeled: float
    seed: int
    fold: int | None
    run_dir: Path
    record: Path | None  # where its record is kept (None: the grid keeps none)
    settings: list[str]  # key=value overrides on top of the grid's configs

    def init_from(self) -> Path | None:
        """The checkpoint the run starts from (``train.init_from``), if it names one."""
        starts = [s.split("=", 1)[1] for s in self.settings
                  if s.startswith("train.init_from=")]
        return Path(starts[-1]) if starts and starts[-1] else None


def grid_runs(grid: Grid, base: Path, overrides: list[str] | None = None) -> list[GridRun]:
    """Every run of ``grid`` in the order it trains: seeds, budgets, methods, folds.

    Args:
        grid: The grid.
        base: The folder its relative paths start from (:func:`read_grid`).
        overrides: ``key=value`` settings for every run.
    """
    out = base / grid.out
    records = base / grid.records if grid.records else None
    runs = []
    for seed in grid.seeds:
        for labeled in grid.labeled:
            for method in grid.methods:
                for fold in (range(grid.folds) if grid.folds else [None]):
                    name = run_name(method, labeled, seed, fold)
                    runs.append(GridRun(
                        name, method, labeled, seed, fold, out / name,
                        records / name if records else None,
                        run_settings(grid, method, labeled, seed, fold, overrides)))
    return runs


def run_name(method: str, labeled: float, seed: int, fold: int | None = None) -> str:
    """A grid run's folder (and record) name: ``<method>-l<labeled>[-f<fold>]-s<seed>``."""
    part = "" if fold is None else f"-f{fold}"
    return f"{method}-l{labeled}{part}-s{seed}"


def run_settings(grid: Grid, method: str, labeled: float, seed: int,
                 fold: int | None = None, overrides: list[str] | None = None) -> list[str]:
    """The ``key=value`` settings of one run: the grid's, ``overrides``, then the run's own.

    ``{seed}``, ``{labeled}`` and ``{fold}`` in the grid's ``set`` become the run's
    values (each seed fine-tuned from its own pre-training, say; with folds, from a
    pre-training that never saw the fold's val patients); other text is left as
    written. The run's method, budget, fold and seed come last, so no override changes
    which run a folder holds.

    Raises:
        ConfigError: ``{fold}`` in a grid without folds.
    """
    cv = [] if fold is None else [f"data.folds={grid.folds}", f"data.fold={fold}"]
    shared = [s.replace("{seed}", str(seed)).replace("{labeled}", str(labeled))
              for s in grid.set]
    if fold is not None:
        shared = [s.replace("{fold}", str(fold)) for s in shared]
    elif any("{fold}" in s for s in shared):
        raise ConfigError(f"grid set {grid.set}: {{fold}} needs folds: K >= 2 in the grid")
    return [*shared, *(overrides or []), f"method.name={method}", _budget_key(grid, labeled), *cv,
            f"train.seed={seed}"]


def _train_or_resume(run_dir: Path, configs: list[Path], settings: list[str],
                     record: Path | None = None, deadline: float | None = None) -> None:
    """Skip a finished run, resume an interrupted one, else start it with ``settings``.

    With ``record``, a run found there is restored instead of trained, and a run that
    finishes (or had finished without a record) has its record saved there. ``deadline``:
    see :func:`semiseg.engine.loop.train`.
    """
    from semiseg.engine.loop import read_run_config, train

    if record is not None and restore_record(record, run_dir):
        print(f"done already (restored from {record}): {run_dir}", flush=True)
        return
    if (run_dir / "result.json").is_file():
        print(f"done already: {run_dir}", flush=True)
    elif (run_dir / "checkpoints" / "last.pt").is_file():
        print(f"resuming {run_dir}", flush=True)
        train(read_run_config(run_dir), run_dir, resume=True, deadline=deadline)
    else:
        print(f"training {run_dir}", flush=True)
        train(load_config(configs, settings), run_dir, deadline=deadline)
    if record is not None and not has_record(record):
        save_record(run_dir, record)


def _budget_key(grid: Grid, labeled: float) -> str:
    """The override that sets a run's labeled budget."""
    if grid.budget == "percent":
        return f"data.labeled_percent={labeled}"
    return f"data.num_labeled={labeled}"


def _budget(config: dict[str, Any]) -> tuple[float, str]:
    """A finished run's labeled budget and its unit ("patients" or "%")."""
    percent = float(config["data"].get("labeled_percent", 0) or 0)
    if percent > 0:
        return (int(percent) if percent.is_integer() else percent), "%"
    return int(config["data"]["num_labeled"]), "patients"


def seed_stats(values: list[float | None]) -> dict[str, float]:
    """Mean, population std and count of ``values`` (None and NaN left out)."""
    arr = np.array([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if not len(arr):
        return {"mean": math.nan, "std": math.nan, "n": 0}
    return {"mean": float(arr.mean()), "std": float(arr.std()), "n": len(arr)}


# clinical read-out -> leaderboard key: mean absolute EF error over val patients (pp)
CLINICAL_COLUMNS = {"LV_EF": "lv_ef_mae", "RV_EF": "rv_ef_mae"}


def collect(out: str | Path) -> list[dict[str, Any]]:
    """One leaderboard row per (method, labeled, folds) from every ``*/result.json`` below ``out``.

    Each metric is the mean ± std over seeds of the run's val mean (itself the mean over
    cases of the per-case class mean); per-class means likewise. Cross-validated runs
    (``data.folds`` K) form their own rows: a seed enters once all its K folds are
    finished, as one result over all its folds' val cases (:func:`pool_folds`).
    """
    groups: dict[tuple[str, float, str, int], list[tuple[dict[str, Any], Path, int]]] = (
        defaultdict(list))
    for path in sorted(Path(out).glob("*/result.json")):
        result = read_result(path)
        config = read_yaml(path.parent / "config.yaml")
        folds, fold = cv_folds(config)
        groups[(result["method"], *_budget(config), folds)].append((result, path.parent, fold))
    rows = []
    for (method, labeled, unit, folds), found in sorted(groups.items(),
                                                        key=lambda kv: (kv[0][1], kv[0][0])):
        results, folders = _seed_results(found, folds)
        if not results:  # no seed has all its folds yet
            continue
        row: dict[str, Any] = {"method": method, "labeled": labeled, "budget_unit": unit,
                               "seeds": sorted(r["seed"] for r in results),
                               "iterations": results[0]["iterations"],
                               "units": results[0].get("distance_units", "voxel")}
        if folds:
            row["folds"] = folds
        metrics = [*METRICS, *(m for m in OPTIONAL_METRICS
                               if all(m in r["val"] for r in results))]
        for m in metrics:
            row[m] = seed_stats([r["val"][m]["mean"] for r in results])
        classes = list(results[0]["val_per_class"])
        row["per_class"] = {c: {m: seed_stats([r["val_per_class"][c][m]["mean"] for r in results])
                                for m in METRICS} for c in classes}
        if all("clinical" in r for r in results):  # cardiac data: EF error per patient
            for key, name in CLINICAL_COLUMNS.items():
                row[name] = seed_stats([r["clinical"][key]["mae"] for r in results])
        row["wall_minutes"] = seed_stats([r["wall_seconds"] / 60 for r in results])
        # per seed: what it trained on and its minutes (a row may mix CPU and GPU seeds)
        row["hardware"] = [[hardware_label(r), r["wall_seconds"] / 60] for r in results]
        row["peak_memory_gib"] = seed_stats([r.get("peak_memory_gib") for r in results])
        # per seed too: a GPU's CUDA peak and a CPU's resident set, or fp32's and bf16's,
        # are no one quantity, so a row whose seeds differ in hardware shows each apart
        row["peak_memory_gib_per_seed"] = [r.get("peak_memory_gib") for r in results]
        # where the runs were found (result.json's own paths are relative to wherever
        # the runs were launched from)
        row["runs"] = [str(folder) for folder in folders]
        rows.append(row)
    _compare_with_baseline(rows)
    return rows


def hardware_label(result: dict[str, Any]) -> str:
    """What a run trained on, and in what precision: e.g. "AMD EPYC, 2 threads, bf16".

    ``result.json``'s hardware (older records: its device) and its autocast precision
    (``train.amp: auto`` trains in bf16 on a CPU with native bf16 and in fp32 on one
    without, so seeds of one protocol can differ in both, and a row shows it). A run that
    shared its GPU with other runs (``benchmarks/gpu_pool.py``) says so, since its wall
    time is then not that of a run alone on the chip; so does one whose sessions ran on
    different machines ("A then B", from ``result.json``'s sessions).
    """
    machines = list(dict.fromkeys(s.get("hardware") or "unrecorded"
                                  for s in result.get("sessions", [])))
    if len(machines) > 1:  # resumed elsewhere: its wall time is no one machine's
        label = " then ".join(machines)
    else:
        label = result.get("hardware") or result.get("device", "unknown")
    precision = PRECISION_NAMES.get(str(result["amp"])) if "amp" in result else None
    if precision:
        label = f"{label}, {precision}"
    shared = result.get("shared_device_runs", 1)
    return f"{label}, shared by up to {shared} runs" if shared > 1 else label


def wall_cell(row: dict[str, Any]) -> str:
    """Minutes per run: mean ± std over seeds, or each hardware's mean where seeds differ.

    Averaging a GPU seed's wall time with a CPU seed's would describe neither.
    """
    return per_hardware_cell(row, [minutes for _, minutes in row.get("hardware", [])],
                             row["wall_minutes"], digits=1)


def peak_cell(row: dict[str, Any]) -> str:
    """Peak memory in GiB: mean ± std over seeds, or each hardware's mean where seeds differ.

    A CUDA peak and a CPU's resident set measure different memories, and one CPU's fp32
    peak is not its bf16 one (cad at 7 labeled: 4.03 GiB in fp32, 2.56 in bf16).
    """
    return per_hardware_cell(row, row.get("peak_memory_gib_per_seed"),
                             row["peak_memory_gib"], digits=2)


def per_hardware_cell(row: dict[str, Any], per_seed: list[float | None] | None,
                      stat: dict[str, float], digits: int) -> str:
    """``stat`` as mean ± std where a row's seeds share one hardware, else per hardware.

    Args:
        row: A leaderboard row; ``row["hardware"]`` lists ``[label, minutes]`` per seed.
        per_seed: The value of each seed, in the same order (an entry None: not
            recorded). None for a row that carries no per-seed values (one not built by
            :func:`collect`, e.g. by hand); ``stat`` is then shown as it is.
        stat: The value's :func:`seed_stats` over all seeds.
        digits: Decimals shown.

    Returns:
        e.g. ``"2.56 (AMD EPYC, 2 threads, bf16); 4.03 (AMD EPYC (AVX2), 2 threads, fp32)"``.
    """
    labels = hardware_of(row)
    if len(labels) <= 1 or per_seed is None:
        return format_stat(stat, digits=digits)
    cells = []
    for label in labels:
        mine = [v for (seed_label, _), v in zip(row["hardware"], per_seed, strict=True)
                if seed_label == label and v is not None]
        cells.append(f"{float(np.mean(mine)):.{digits}f} ({label})" if mine
                     else f"n/a ({label})")
    return "; ".join(cells)


def hardware_of(row: dict[str, Any]) -> list[str]:
    """The distinct hardware a row's seeds trained on, in seed order."""
    return list(dict.fromkeys(label for label, _ in row.get("hardware", [])))


def _seed_results(found: list[tuple[dict[str, Any], Path, int]],
                  folds: int) -> tuple[list[dict[str, Any]], list[Path]]:
    """One result per seed and the run folders behind them.

    Without folds every run is a seed's result; with K folds the seeds that have all K
    fold runs, each pooled (:func:`pool_folds`), and the others are left out.
    """
    if not folds:
        return [r for r, _, _ in found], [folder for _, folder, _ in found]
    by_seed: dict[int, list[tuple[dict[str, Any], Path, int]]] = defaultdict(list)
    for item in found:
        by_seed[item[0]["seed"]].append(item)
    results, folders = [], []
    for seed, runs in sorted(by_seed.items()):
        done = sorted(fold for _, _, fold in runs)
        if done == list(range(folds)):
            results.append(pool_folds([r for r, _, _ in runs]))
            folders += [folder for _, folder, _ in runs]
        else:
            print(f"note: {runs[0][0]['method']} seed {seed}: folds {done} of {folds} finished; "
                  "left out of the leaderboard until all are", file=sys.stderr)
    return results, folders


def _pooled(stats: list[dict[str, float]]) -> dict[str, float]:
    """Mean over all cases of several parts, from each part's mean and case count."""
    parts = [(s["mean"], s["n"]) for s in stats
             if s.get("n") and s.get("mean") is not None and not math.isnan(s["mean"])]
    n = sum(k for _, k in parts)
    return {"mean": sum(m * k for m, k in parts) / n if n else math.nan, "n": n}


def pool_folds(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One seed's cross-validation as one result: every metric over all folds' val cases.

    Each fold's mean is weighted by its number of cases (patients for the clinical
    errors), so the pooled mean is the plain mean over every case, each validated once.
    Wall time is the mean per fold run, peak memory the largest, hardware each fold's.

    Args:
        results: ``result.json`` contents of the K fold runs of one seed.
    """
    first = results[0]
    pooled: dict[str, Any] = {
        "seed": first["seed"], "iterations": first["iterations"],
        "distance_units": first.get("distance_units", "voxel"),
        "val": {m: _pooled([r["val"][m] for r in results]) for m in first["val"]
                if all(m in r["val"] for r in results)},
        "val_per_class": {c: {m: _pooled([r["val_per_class"][c][m] for r in results])
                              for m in first["val_per_class"][c]}
                          for c in first["val_per_class"]},
        "wall_seconds": float(np.mean([r["wall_seconds"] for r in results])),
        "hardware": " / ".join(dict.fromkeys(hardware_label(r) for r in results)),
    }
    peaks = [r["peak_memory_gib"] for r in results if r.get("peak_memory_gib") is not None]
    if peaks:
        pooled["peak_memory_gib"] = max(peaks)
    if all("clinical" in r for r in results):
        pooled["clinical"] = {
            key: {"mae": _pooled([{"mean": r["clinical"][key]["mae"],
                                   "n": r["clinical"][key]["n"]} for r in results])["mean"]}
            for key in CLINICAL_COLUMNS}
    return pooled


def protocol(row: dict[str, Any]) -> tuple[Any, ...]:
    """What rows must share to be compared: labeled budget (and unit) and folds."""
    return row["labeled"], row.get("budget_unit"), row.get("folds", 0)


def _compare_with_baseline(rows: list[dict[str, Any]]) -> None:
    """Set ``vs_baseline`` of each row: its paired Dice difference to the baseline.

    The baseline is the :data:`BASELINE` row of the same budget and folds; the difference is per
    val patient, seeds averaged (:mod:`semiseg.metrics.compare`). Rows lacking per-case
    metrics get none.
    """
    for row in rows:
        try:
            row["patient_dice"] = patient_scores(row["runs"])
        except SemisegError:  # a run without per-case metrics
            continue
    baselines = {protocol(r): r for r in rows if r["method"] == BASELINE and "patient_dice" in r}
    for row in rows:
        base = baselines.get(protocol(row))
        if base is not None and row is not base and "patient_dice" in row:
            row["vs_baseline"] = paired_comparison(row["patient_dice"], base["patient_dice"])


def format_stat(stat: dict[str, float], scale: float = 1.0, digits: int = 2) -> str:
    """``mean ± std`` over seeds; the mean alone for one seed (its spread is unknown)."""
    if stat["n"] == 0:
        return "n/a"
    mean = f"{stat['mean'] * scale:.{digits}f}"
    return mean if stat["n"] == 1 else f"{mean} ± {stat['std'] * scale:.{digits}f}"


def table_cells(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Header and formatted cells of the leaderboard, shared by Markdown and HTML.

    Dice/Jaccard in %, distances in the runs' units; HC error and LV/RV EF error columns
    where every row has them.
    """
    fmt = format_stat
    units = rows[0]["units"] if rows else "voxel"
    classes = list(rows[0]["per_class"]) if rows else []
    hc = bool(rows) and all("hc_abs_diff_mm" in r for r in rows)
    ef = bool(rows) and all("lv_ef_mae" in r for r in rows)
    paired = any("vs_baseline" in r for r in rows)
    head = (["method", "labeled", "seeds", "Dice %", "Jaccard %", f"HD95 ({units})",
             f"ASD ({units})"]
            + ([f"Dice vs {BASELINE}, per patient: diff [95% CI], p, wins/losses"]
               if paired else [])
            + (["HC error (mm)"] if hc else [])
            + (["LV EF error (pp)", "RV EF error (pp)"] if ef else [])
            + [f"Dice {c}" for c in classes] + ["minutes/run", "peak GiB", "trained on"])
    body = []
    for r in rows:
        budget = f"{r['labeled']}%" if r.get("budget_unit") == "%" else str(r["labeled"])
        seeds = ",".join(map(str, r["seeds"])) + (f" ({r['folds']}-fold CV)" if "folds" in r
                                                  else "")
        cells = [r["method"], budget, seeds,
                 fmt(r["dice"], 100), fmt(r["jaccard"], 100), fmt(r["hd95"]), fmt(r["asd"])]
        if paired:
            cells.append(format_comparison(r["vs_baseline"], 100) if "vs_baseline" in r
                         else "")
        cells += [fmt(r["hc_abs_diff_mm"])] if hc else []
        cells += [fmt(r["lv_ef_mae"]), fmt(r["rv_ef_mae"])] if ef else []
        cells += [fmt(r["per_class"][c]["dice"], 100) for c in classes]
        cells += [wall_cell(r), peak_cell(r),
                  " / ".join(hardware_of(r))]
        body.append(cells)
    return head, body


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The leaderboard as a Markdown table (columns of :func:`table_cells`)."""
    head, body = table_cells(rows)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines)


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    """Flat CSV: one column per metric mean/std, per class too."""
    flat = []
    for r in rows:
        item: dict[str, Any] = {"method": r["method"], "labeled": r["labeled"],
                                "seeds": " ".join(map(str, r["seeds"])),
                                "folds": r.get("folds", 0), "units": r["units"]}
        for m in (*METRICS, *(m for m in OPTIONAL_METRICS if m in r),
                  *(m for m in CLINICAL_COLUMNS.values() if m in r)):
            item[f"{m}_mean"], item[f"{m}_std"] = r[m]["mean"], r[m]["std"]
        for c, stats in r["per_class"].items():
            for m in METRICS:
                item[f"{c}_{m}_mean"], item[f"{c}_{m}_std"] = stats[m]["mean"], stats[m]["std"]
        for key, value in r.get("vs_baseline", {}).items():
            item[f"dice_vs_{BASELINE}_{key}"] = value
        item["wall_minutes_mean"] = r["wall_minutes"]["mean"]
        item["peak_memory_gib_mean"] = r["peak_memory_gib"]["mean"]
        item["hardware"] = " / ".join(hardware_of(r))
        flat.append(item)
    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        # every row's columns, in order of first appearance: a row without a baseline
        # (e.g. the baseline itself, or a budget that has none) lacks the paired ones
        fields = list(dict.fromkeys(key for item in flat for key in item)) or ["method"]
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(flat)


def write_leaderboard(out: str | Path) -> dict[str, Path]:
    """Collect ``out`` and write leaderboard.{csv,md,json}, plots and report.html."""
    from semiseg.leaderboard_plots import plot_dice_vs_budget, plot_paired, plot_val_curves
    from semiseg.report_html import write_report

    out = Path(out)
    rows = collect(out)
    if not rows:
        raise ConfigError(f"{out}: no finished runs (*/result.json) to collect")
    paths = {"csv": out / "leaderboard.csv", "md": out / "leaderboard.md",
             "json": out / "leaderboard.json"}
    write_csv(rows, paths["csv"])
    write_text_atomic(paths["md"], markdown_table(rows) + "\n")
    write_text_atomic(paths["json"], json.dumps(rows, indent=1))
    paths["dice_plot"] = plot_dice_vs_budget(rows, out / "dice_vs_labeled.png")
    paths["curves_plot"] = plot_val_curves(rows, out / "val_curves.png")
    paired = plot_paired(rows, out / "paired_vs_baseline.png")
    if paired is not None:
        paths["paired_plot"] = paired
    paths["html"] = write_report(rows, markdown_table(rows), paths, out / "report.html")
    return paths
