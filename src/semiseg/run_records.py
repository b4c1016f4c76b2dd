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

from semiseg.atomic import atomic_path
from semiseg.errors import DataError

RECORD_SUFFIXES = (".json", ".csv", ".yaml")  # never .pt (weights) or .png/.nii.gz (data)
RECORD_FOLDERS = (".", "eval")  # not predictions/ or checkpoints/ below them


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
