"""A finished run's record: the small files that say what ran and how it scored.

A run folder holds weights (``checkpoints/``), predictions and pictures of the data next
to a few kilobytes of text: ``result.json``, ``config.yaml``, ``split.json``, the
training/validation logs and the per-case tables under ``eval/``. The record is that
text only, so it can be kept in version control (a benchmark's numbers outlive the
machine that trained them) without weights or images of the data set. A record put
back into an empty run folder makes the run count as finished for the leaderboard,
``semiseg compare`` and ``semiseg info``; evaluating again or predicting needs the
weights, which a record does not have.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from semiseg.atomic import atomic_path
from semiseg.data.io import read_json_object
from semiseg.errors import DataError
from semiseg.metrics.report import METRICS

RECORD_SUFFIXES = (".json", ".csv", ".yaml")  # never .pt (weights) or .png/.nii.gz (data)
RECORD_FOLDERS = (".", "eval")  # not predictions/ or checkpoints/ below them
# what the leaderboard and `semiseg info` read from every result.json (finish_run writes them)
RESULT_KEYS = ("method", "seed", "iterations", "best_step", "val_dice_at_selection", "val",
               "val_per_class", "wall_seconds")


def read_result(path: str | Path, required: tuple[str, ...] = RESULT_KEYS) -> dict[str, Any]:
    """A finished run's ``result.json``, checked for what its readers use.

    A record is text kept in version control, so it can be truncated by a failed copy or
    edited by hand; its readers then fail with one line naming the file and the key
    instead of a traceback from deep inside the leaderboard.

    Args:
        path: The ``result.json``.
        required: Top-level keys that must be present. With ``"val"`` and
            ``"val_per_class"`` among them, each must hold every metric's ``mean`` too.

    Raises:
        DataError: the file is missing, not a JSON object, or lacks a required key.
    """
    path = Path(path)
    result = read_json_object(path, "no result.json (the run has not finished)")
    for key in required:
        if key not in result:
            raise DataError(f"{path}: missing key '{key}' (a truncated or hand-edited record?)")
    tables = {}
    if "val" in required:
        tables["val"] = result["val"]
    if "val_per_class" in required:
        per_class = result["val_per_class"]
        if not isinstance(per_class, dict) or not per_class:
            raise DataError(f"{path}: 'val_per_class' must map each class to its metrics")
        tables.update({f"val_per_class.{name}": table for name, table in per_class.items()})
    for where, table in tables.items():
        for metric in METRICS:
            entry = table.get(metric) if isinstance(table, dict) else None
            if not isinstance(entry, dict) or "mean" not in entry:
                raise DataError(f"{path}: missing key '{where}.{metric}.mean'")
    return result


def record_files(run_dir: str | Path) -> list[Path]:
    """The record's files of a run, relative to ``run_dir``, sorted.

    Raises:
        DataError: ``run_dir`` has no ``result.json`` (the run did not finish).
    """
    run_dir = Path(run_dir)
    if not (run_dir / "result.json").is_file():
        raise DataError(f"{run_dir}: no result.json; only a finished run has a record")
    return sorted(path.relative_to(run_dir) for folder in RECORD_FOLDERS
                  for path in (run_dir / folder).glob("*")
                  if path.is_file() and path.suffix in RECORD_SUFFIXES
                  and not path.name.startswith("."))  # not another writer's temporary


def save_record(run_dir: str | Path, dest: str | Path) -> Path:
    """Copy a finished run's record to ``dest`` (replacing an older record there).

    ``result.json`` is written last, so an interrupted copy is not taken for a record.

    Returns:
        ``dest``.
    """
    run_dir, dest = Path(run_dir), Path(dest)
    files = record_files(run_dir)
    (dest / "result.json").unlink(missing_ok=True)
    for rel in sorted(files, key=lambda p: p.name == "result.json"):
        with atomic_path(dest / rel) as tmp:
            shutil.copyfile(run_dir / rel, tmp)
    return dest


def has_record(path: str | Path) -> bool:
    """Whether ``path`` holds a complete record (or a finished run)."""
    return (Path(path) / "result.json").is_file()


def restore_record(record: str | Path, run_dir: str | Path) -> bool:
    """Put a saved record into ``run_dir`` unless that run is already finished there.

    Returns:
        True when the record was restored, False when ``record`` holds none or
        ``run_dir`` already has a ``result.json``.
    """
    if not has_record(record) or has_record(run_dir):
        return False
    save_record(record, run_dir)
    return True
