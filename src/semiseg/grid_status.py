"""Where a benchmark grid stands (``semiseg bench status``): each run's state and time left.

A grid of methods x budgets x seeds can take days on a CPU; this reads only small files
(``result.json``, ``train.csv``, configs, records), never a checkpoint, so it is instant
and safe to run beside the training. Time left is steps left times the run's own median
step (from its ``train.csv``), or for a run not started, the median step of the finished
runs of the same method in the grid (none: unknown); validations and the final
evaluation are not counted.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from semiseg.config import load_config
from semiseg.engine.deadline import START_MINUTES, STEP_OVERHEAD
from semiseg.errors import ConfigError
from semiseg.leaderboard import GridRun, grid_runs, read_grid
from semiseg.run_info import logged_rows
from semiseg.run_records import has_record, read_result

# a train.csv written to this recently belongs to a run that is (probably) training now
ACTIVE_SECONDS = 600


@dataclass
class RunStatus:
    """One grid run's state.

    ``state`` is one of "finished", "recorded" (its record is kept; the next ``bench
    run`` restores it without training), "training", "interrupted" (resumes from its last
    checkpoint), "waiting" (for the checkpoint it starts from), "not started".
    """

    name: str
    method: str
    state: str
    step: int
    total: int
    seconds_per_step: float | None
    note: str = ""

    @property
    def done(self) -> bool:
        """Finished or restorable from its record."""
        return self.state in ("finished", "recorded")

    def minutes_left(self) -> float | None:
        """Minutes of training steps left (0 when done, None when no step time is known)."""
        if self.done:
            return 0.0
        if self.seconds_per_step is None:
            return None
        return (self.total - self.step) * self.seconds_per_step / 60

    def minutes_needed(self) -> float | None:
        """Wall minutes to finish: steps left plus validations and start-up (None: unknown)."""
        left = self.minutes_left()
        if left is None or self.done:
            return left
        return left * STEP_OVERHEAD + START_MINUTES


def finished_checkpoint(path: Path) -> bool:
    """Whether ``path`` exists and, if it is a run's checkpoint, that run has finished.

    A pre-training writes ``checkpoints/last.pt`` long before it ends; a fine-tuning must
    not start from such a half-trained network.
    """
    if not path.is_file():
        return False
    return path.parent.name != "checkpoints" or has_record(path.parent.parent)


def logged_steps(run_dir: Path) -> tuple[int, float | None]:
    """Last logged step of a run and its median seconds per step (None: nothing logged)."""
    rows = logged_rows(run_dir)
    speeds = [float(r["it_per_s"]) for r in rows if r.get("it_per_s")]
    step = int(float(rows[-1]["step"])) if rows else 0
    return step, (1 / statistics.median(speeds) if speeds and min(speeds) > 0 else None)


def _result(run: GridRun) -> dict | None:
    """The finished run's result.json (its folder's, else its record's)."""
    for folder in (run.run_dir, run.record):
        if folder is not None and (folder / "result.json").is_file():
            return read_result(folder / "result.json", required=("iterations",))
    return None


def run_status(run: GridRun, configs: list[Path], now: float) -> RunStatus:
    """The state of one run, from its folder and record."""
    result = _result(run)
    if result is not None:
        state = "finished" if (run.run_dir / "result.json").is_file() else "recorded"
        total = int(result["iterations"])
        return RunStatus(run.name, run.method, state, total, total,
                         result.get("median_seconds_per_iteration"))
    total = load_config(configs, run.settings).train.iterations
    step, seconds = logged_steps(run.run_dir)
    log = run.run_dir / "train.csv"
    if log.is_file():
        active = now - log.stat().st_mtime < ACTIVE_SECONDS
        return RunStatus(run.name, run.method, "training" if active else "interrupted",
                         step, total, seconds)
    start = run.init_from()
    if start is not None and not finished_checkpoint(start):
        return RunStatus(run.name, run.method, "waiting", 0, total, None,
                         note=f"for {start}")
    return RunStatus(run.name, run.method, "not started", 0, total, None)


def grid_status(grid_path: str | Path, overrides: list[str] | None = None,
                step_times: dict[str, float] | None = None, speed_factor: float = 1.0
                ) -> list[RunStatus]:
    """Every run of the grid with its state.

    A run with no step time of its own takes the median of its method's finished runs in
    the grid, else ``step_times[method]`` (seconds, e.g. from ``semiseg bench speed``),
    either times ``speed_factor``: how much slower this machine is than the one those
    were measured on (finished runs' records may come from another machine).
    """
    grid, base = read_grid(grid_path)
    configs = [base / c for c in grid.configs]
    now = time.time()
    rows = [run_status(run, configs, now) for run in grid_runs(grid, base, overrides)]
    timed: dict[str, list[float]] = {}
    for row in rows:
        if row.done and row.seconds_per_step:
            timed.setdefault(row.method, []).append(row.seconds_per_step)
    for row in rows:
        if row.seconds_per_step is not None:
            continue
        borrowed = (statistics.median(timed[row.method]) if row.method in timed
                    else (step_times or {}).get(row.method))
        row.seconds_per_step = None if borrowed is None else borrowed * speed_factor
    return rows


def parse_until(text: str, now: datetime | None = None) -> float:
    """A deadline as epoch seconds, from ``HH:MM`` (the next such local time) or ISO 8601.

    Raises:
        ConfigError: Neither form, or an ISO time already past.
    """
    now = now or datetime.now().astimezone()
    try:
        if len(text) <= 5 and ":" in text:
            hour, minute = (int(part) for part in text.split(":"))
            when = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
            return (when if when > now else when + timedelta(days=1)).timestamp()
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--until {text!r}: expected HH:MM or an ISO date-time such as "
                          "2026-12-04T02:50") from None
    if when.tzinfo is None:
        when = when.astimezone()  # a naive time is local time
    if when <= now:
        raise ConfigError(f"--until {text!r} is already past (now {now:%Y-%m-%d %H:%M})")
    return when.timestamp()


def fits_before(status: RunStatus, deadline: float, now: float | None = None
                ) -> tuple[bool, str]:
    """Whether a run can finish before ``deadline`` (epoch seconds), and why not.

    A run that cannot is better left for later than started: when its session (or
    lease) ends, everything it trained is lost unless its folder outlives the machine.
    A run of unknown step time does not fit, since nothing says it would, nor one still
    waiting for the checkpoint it starts from.
    """
    left = (deadline - (time.time() if now is None else now)) / 60
    if status.state == "waiting":
        return False, f"skipped {status.name}: waiting {status.note}"
    needed = status.minutes_needed()
    if needed is None:
        return False, (f"skipped {status.name}: its step time is unknown (no finished run "
                       "of its method; see --step-time) and --until is set")
    if needed > left:
        return False, (f"skipped {status.name}: needs about {needed:.0f} min, "
                       f"{max(left, 0):.0f} min left before --until")
    return True, ""


def format_grid_status(grid_path: str | Path, rows: list[RunStatus]) -> str:
    """A line per run (state, minutes of steps left) and a one-line total."""
    lines = [f"{grid_path}:"]
    width = max((len(r.name) for r in rows), default=10)
    for r in rows:
        state = {"training": f"training, step {r.step} of {r.total}",
                 "interrupted": f"interrupted at step {r.step} of {r.total}"}.get(r.state,
                                                                                  r.state)
        left = r.minutes_left()
        minutes = ("" if r.done else "      ? min" if left is None
                   else f"{left:7.0f} min")
        line = f"  {r.name:<{width}}  {state:<32}{minutes}" + (f"  {r.note}" if r.note else "")
        lines.append(line.rstrip())
    done = sum(r.done for r in rows)
    todo = [r for r in rows if not r.done]
    known = [m for m in (r.minutes_left() for r in todo) if m is not None]
    unknown = len(todo) - len(known)
    total = (f"{len(rows)} runs: {done} done, {len(todo)} to go"
             + (f"; about {_duration(sum(known))} of training steps left at the measured "
                "step times" if known else "")
             + (f" ({unknown} of them with no step time: not counted; see --step-time)"
                if unknown else ""))
    return "\n".join([*lines, total])


def _duration(minutes: float) -> str:
    """``"40 min"`` below two hours, else ``"3.5 h"``."""
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"
