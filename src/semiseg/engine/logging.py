"""Run logs: CSV files, TensorBoard and a progress bar with loss, speed and ETA."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

from semiseg.errors import DataError


class CsvLog:
    """Append rows to a CSV file; the header is the first row's keys (new keys are added)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fields: list[str] = []
        if path.is_file():
            with path.open() as f:
                self.fields = next(csv.reader(f), [])

    def write(self, row: dict[str, Any]) -> None:
        """Append ``row``; rewrites the file once if the row brings a new column."""
        new = [k for k in row if k not in self.fields]
        if new:
            old_rows = []
            if self.path.is_file():
                with self.path.open() as f:
                    old_rows = list(csv.DictReader(f))
            self.fields += new
            with self.path.open("w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=self.fields)
                writer.writeheader()
                writer.writerows(old_rows)
        with self.path.open("a", newline="") as f:
            csv.DictWriter(f, fieldnames=self.fields).writerow(row)

    def truncate_after(self, step: int) -> None:
        """Drop rows with ``step`` > ``step`` (a resumed run rewrites them)."""
        if not self.path.is_file():
            return
        with self.path.open() as f:
            rows = [r for r in csv.DictReader(f) if int(float(r["step"])) <= step]
        with self.path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.fields)
            writer.writeheader()
            writer.writerows(rows)


def read_val_curve(run_dir: str | Path) -> list[tuple[int, float]]:
    """``(step, mean val Dice)`` of each validation in a run's ``val.csv``; [] before any.

    Raises:
        DataError: a row without a numeric ``step`` and ``dice_mean`` (a hand-edited or
            damaged log), naming the file and the line.
    """
    path = Path(run_dir) / "val.csv"
    if not path.is_file():
        return []
    curve = []
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            try:
                curve.append((int(float(row["step"])), float(row["dice_mean"])))
            except (KeyError, TypeError, ValueError):
                raise DataError(f"{path}: line {len(curve) + 2}: step and dice_mean must be "
                                "numbers") from None
    return curve


class RunLogger:
    """Training and validation logs of one run folder.

    Args:
        run_dir: Where ``train.csv``, ``val.csv`` and ``tensorboard/`` go.
        total_steps: For the progress bar.
        start_step: First step (resume).
        progress_bar: Show a tqdm bar on stderr.
        enabled: False on non-zero DDP ranks.
    """

    def __init__(self, run_dir: Path, total_steps: int, start_step: int = 0,
                 progress_bar: bool = True, enabled: bool = True) -> None:
        self.enabled = enabled
        self.train_csv = CsvLog(run_dir / "train.csv")
        self.val_csv = CsvLog(run_dir / "val.csv")
        self.tb = None
        self.bar = None
        if not enabled:
            return
        self.train_csv.truncate_after(start_step)
        self.val_csv.truncate_after(start_step)
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(run_dir / "tensorboard"), purge_step=start_step)
        except ImportError:  # a broken tensorboard install must not stop training
            self.tb = None
        if progress_bar:
            from tqdm import tqdm

            self.bar = tqdm(total=total_steps, initial=start_step, file=sys.stderr,
                            dynamic_ncols=True, unit="it", smoothing=0.05)

    def train(self, step: int, scalars: dict[str, float]) -> None:
        """Log training scalars of ``step``."""
        if not self.enabled:
            return
        self.train_csv.write({"step": step, **scalars})
        if self.tb is not None:
            for k, v in scalars.items():
                self.tb.add_scalar(f"train/{k}", v, step)
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in scalars.items()
                                  if k in ("loss", "lr", "val_dice")}, refresh=False)

    def val(self, step: int, scalars: dict[str, float]) -> None:
        """Log validation scalars of ``step``."""
        if not self.enabled:
            return
        self.val_csv.write({"step": step, **scalars})
        if self.tb is not None:
            for k, v in scalars.items():
                self.tb.add_scalar(f"val/{k}", v, step)
        if self.bar is not None:
            self.bar.set_postfix({"val_dice": f"{scalars.get('dice_mean', 0):.4f}"}, refresh=False)

    def advance(self, n: int = 1) -> None:
        """Move the progress bar."""
        if self.bar is not None:
            self.bar.update(n)

    def message(self, text: str) -> None:
        """Print a line without breaking the progress bar."""
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr)

    def close(self) -> None:
        """Flush and close."""
        if self.bar is not None:
            self.bar.close()
        if self.tb is not None:
            self.tb.close()
