"""Atomic file writes: a finished file is never left half-written by a crash or a kill.

Every result semiseg keeps (checkpoints, configs, splits, metrics, predictions) is
written to a hidden temporary file beside its destination and renamed over it, which
POSIX makes atomic on one file system. A reader therefore sees either the old file or
the new one, and an interrupted write leaves the old one intact.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path, sync: bool = False) -> Iterator[Path]:
    """A temporary path to write; on success it replaces ``path``, on error it is removed.

    The temporary name is ``.tmp<pid>-<name>`` in the same folder: hidden, unique per
    process, and ending like ``path`` (``.nii.gz``, ``.png``), so that writers that infer
    the format from the file name (nibabel, PIL) write the right one.

    Args:
        path: The destination; its folder is created if missing.
        sync: ``fsync`` the file before the rename (for checkpoints: the rename must
            not reach the disk before the data does).

    Yields:
        The temporary path, to be written by the caller.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp{os.getpid()}-{path.name}")
    try:
        yield tmp
        if sync:
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
