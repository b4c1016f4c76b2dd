"""Run logs: CSV files, TensorBoard and a progress bar with loss, speed and ETA."""

from __future__ import annotations

import csv
import math
import sys
from collections.abc import Sequence
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
        """Drop rows with ``step`` > ``step`` (a resumed run rewrites them).

        A half-written last row (the run was killed while appending it) is dropped too.

        Raises:
            DataError: an earlier row has no numeric ``step``, naming the file and the line.
        """
        if not self.path.is_file():
            return
        rows = [r for r in read_csv_rows(self.path, numbers=("step",), partial_last_row=True)
                if float(r["step"]) <= step]
        with self.path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.fields)
            writer.writeheader()
            writer.writerows(rows)


def read_csv_rows(path: Path, numbers: Sequence[str] = (), blank_or_numbers: Sequence[str] = (),
                  names: Sequence[str] = (), partial_last_row: bool = False
                  ) -> list[dict[str, str]]:
    """The rows of a CSV table (a run log or a per-case table), checked column by column.

    Args:
        path: The file; its first row is the header.
        numbers: Columns the header must have and every row must hold a finite number in.
        blank_or_numbers: Columns that may be absent or blank but otherwise hold a number
            (NaN included: e.g. a distance left out for an empty mask).
        names: Columns the header must have and no row may leave blank.
        partial_last_row: Leave a damaged last row out instead of raising: a run that is
            training may be appending it as we read, or was killed while writing it.

    Returns:
        The rows in file order, each ``{column: text}``.

    Raises:
        DataError: a column is missing or a row is damaged, naming the file, the line and
            the column.
    """
    rows = []
    try:
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            for column in (*numbers, *names):
                if header and column not in header:
                    raise DataError(f"{path}: no column {column!r} (columns: "
                                    f"{', '.join(header)})")
            for row in reader:
                problem = _row_problem(row, numbers, blank_or_numbers, names)
                rows.append((reader.line_num, row, problem))
    except (OSError, UnicodeDecodeError, csv.Error) as err:  # unreadable, binary, NUL bytes
        raise DataError(f"{path}: not a readable CSV table ({err})") from None
    for i, (line, _, problem) in enumerate(rows):
        if problem is None:
            continue
        if partial_last_row and i == len(rows) - 1:
            return [row for _, row, _ in rows[:-1]]
        raise DataError(f"{path}: line {line}: {problem}")
    return [row for _, row, _ in rows]


def _row_problem(row: dict[str, str], numbers: Sequence[str], blank_or_numbers: Sequence[str],
                 names: Sequence[str]) -> str | None:
    """What is wrong with one CSV row (see ``read_csv_rows``); None when nothing is."""
    if None in row:  # csv.DictReader files surplus fields under the key None
        return "more fields than the header"
    if None in row.values():  # and fills missing ones with None: a row cut short
        return "fewer fields than the header"
    for column in names:
        if not row.get(column):
            return f"{column} is blank"
    for column in (*numbers, *blank_or_numbers):
        value = row.get(column)
        if value in (None, ""):
            if column in numbers:
                return f"{column} is blank"
            continue
        try:
            number = float(value)
        except ValueError:
            return f"{column} {value!r} is not a number"
        if column in numbers and not math.isfinite(number):  # a step or score, never NaN
            return f"{column} {value!r} is not a finite number"
    return None


def read_val_curve(run_dir: str | Path) -> list[tuple[int, float]]:
    """``(step, mean val Dice)`` of each validation in a run's ``val.csv``; [] before any.

    Raises:
        DataError: a row without a numeric ``step`` or ``dice_mean`` (a hand-edited or
            damaged log), naming the file, the line and the column.
    """
    path = Path(run_dir) / "val.csv"
    if not path.is_file():
        return []
    rows = read_csv_rows(path, numbers=("step", "dice_mean"))
    return [(int(float(r["step"])), float(r["dice_mean"])) for r in rows]


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
