"""Package version and the provenance recorded in run folders and checkpoints."""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path

__version__ = "0.1.0"


@cache
def git_hash() -> str:
    """Commit of the source tree semiseg runs from ("unknown" outside a git checkout).

    ``SEMISEG_GIT_COMMIT`` names it where the tree travelled without its ``.git`` (a lent
    GPU machine gets a copy of the working tree only).
    """
    if os.environ.get("SEMISEG_GIT_COMMIT"):
        return os.environ["SEMISEG_GIT_COMMIT"]
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def provenance() -> dict[str, str]:
    """Versions of semiseg, its git commit and torch."""
    import torch

    return {"semiseg": __version__, "git": git_hash(), "torch": str(torch.__version__)}
