"""Many grid runs at once on one lent GPU, inside a fixed time, keeping what finishes.

A lent GPU comes for minutes (the device tool's lease), and one acdc-dev run uses a small
part of it: a 1.8 M-parameter UNet on 12 slices of 128x128 is bound by kernel launches,
not by the chip. So this script starts ``--workers`` runs side by side, each its own
``semiseg bench run GRID --methods M --labeled L --seeds S`` process (one CPU thread
each), takes the next unrecorded run whenever one ends, starts none that could not end
before ``--deadline``, and at the deadline asks the rest to stop (SIGTERM: each saves
``last.pt`` and exits). Runs are those of the grids (every method x budget x seed x
fold), the longest first (by their CPU step cost), minus those whose record is already kept
(``benchmarks/results/``) and those whose ``train.init_from`` does not exist yet.

What comes back from the lease is packed into ``--out`` (``$OUT`` on the device
machine): ``records.tar.gz``, the records of the runs that finished (the grid's
``records`` folders, as the CPU queues keep them; unpack it at the repository root),
``pool.json`` (every run: finished / failed / stopped / not started, wall seconds, median
step) and ``failures.log`` (the end of each failed run's output). Example, on the device
machine, with the data set unpacked to ``data/ACDC`` (a git-ignored folder named in
``carry``)::

    python benchmarks/gpu_pool.py benchmarks/grids/acdc-dev.yaml \
        benchmarks/grids/acdc-dev-new.yaml --workers 12 --deadline 480 \
        --set data.root=data/ACDC --out "$OUT"

``--dry-run`` lists the runs it would start, in order, and exits.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from semiseg.engine.loop import read_run_config
from semiseg.grid_status import finished_checkpoint
from semiseg.leaderboard import grid_runs, read_grid
from semiseg.run_info import last_logged_row
from semiseg.run_records import has_record

# Relative cost of one run: the median acdc-dev training step on the CPU (s, BENCHMARKS.md
# step-cost tables). The pool starts the longest runs first, so that none of them is
# the one left unfinished at the deadline; unknown methods count as supervised.
STEP_COST = {"supervised": 0.224, "mean_teacher": 0.273, "ua_mt": 0.549, "cps": 0.432,
             "unimatch": 0.502, "bcp": 0.16, "abd": 1.268, "m3hl": 0.16,
             "transmedseg": 0.369, "medl": 0.824, "cad": 1.354, "c3s3": 1.389,
             "spcl": 0.180}


@dataclass
class Job:
    """One run of a grid, and what became of it."""

    grid: str
    name: str
    method: str
    labeled: int
    seed: int
    record: str
    run_dir: str
    status: str = "not started"
    seconds: float = 0.0
    median_step: float | None = None
    shared_with: int = 1  # most runs on the device at once during this one (itself included)

    def command(self, overrides: list[str]) -> list[str]:
        """The ``semiseg bench run`` command line of this one run."""
        sets = [arg for o in overrides for arg in ("--set", o)]
        return [sys.executable, "-m", "semiseg", "bench", "run", self.grid, "--methods",
                self.method, "--labeled", str(self.labeled), "--seeds", str(self.seed), *sets]


def grid_jobs(grid_path: Path, overrides: list[str]) -> tuple[list[Job], list[str]]:
    """The grid's runs that have no record yet, and a note for each one that must wait.

    Returns:
        ``(jobs, notes)``; a run whose ``train.init_from`` (after the grid's placeholders)
        is missing is a note (its pre-training comes first), not a job.
    """
    grid, base = read_grid(grid_path)
    if not grid.records:
        raise SystemExit(f"{grid_path}: the grid keeps no records (key 'records'), so "
                         "nothing of its runs would come back from the device")
    if grid.folds:
        raise SystemExit(f"{grid_path}: grids with folds are not pooled (one run per fold "
                         "shares a bench run call)")
    jobs, notes = [], []
    for run in grid_runs(grid, base, overrides):
        assert run.record is not None  # the grid keeps records (checked above)
        if has_record(run.record):
            continue
        start = run.init_from()
        if start is not None and not finished_checkpoint(start):
            notes.append(f"{grid_path.name} {run.name}: waits for {start}")
            continue
        jobs.append(Job(str(grid_path), run.name, run.method, int(run.labeled), run.seed,
                        str(run.record), str(run.run_dir)))
    return jobs, notes


def seconds_to_finish(job: Job) -> float | None:
    """How long the running ``job`` still needs at its current speed (None: no speed yet).

    From the last row of its ``train.csv`` (step, steps/s) and its iterations;
    validations and the final evaluation are not counted.
    """
    row = last_logged_row(job.run_dir)
    if row is None or not row.get("it_per_s"):
        return None
    total = read_run_config(Path(job.run_dir)).train.iterations  # written before train.csv
    return (total - int(float(row["step"]))) / float(row["it_per_s"])


def median_step(job: Job) -> float | None:
    """The finished run's median step time (s), from its record."""
    path = Path(job.record) / "result.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text()).get("median_seconds_per_iteration")


def run_pool(jobs: list[Job], overrides: list[str], workers: int, deadline: float,
             min_run: float, logs: Path, on_finish: Callable[[], None] = lambda: None) -> None:
    """Run ``jobs`` on ``workers`` processes until done or ``deadline`` (time.monotonic).

    A job starts only while at least ``min_run`` seconds remain. Every 20 s, the run
    furthest from finishing among those that at their current speed would need over 1.25x
    the time left (others that end make it faster, hence the margin) is stopped, so that
    the GPU serves runs that can still finish. At the deadline the running ones get
    SIGTERM (save and stop), then SIGKILL 60 s later. Each job's status, wall time and
    median step are filled in; ``on_finish`` runs after each run that finished (to pack
    what is done so far, in case the lease ends first).
    """
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    waiting = list(jobs)
    running: dict[subprocess.Popen, tuple[Job, float]] = {}
    hopeless: set[subprocess.Popen] = set()
    stopping, kill_at, next_check = False, float("inf"), 0.0
    while running or (waiting and not stopping):
        now = time.monotonic()
        while (not stopping and waiting and len(running) < workers
               and deadline - now >= min_run):
            job = waiting.pop(0)
            with (logs / f"{Path(job.grid).stem}-{job.name}.log").open("w") as log:
                proc = subprocess.Popen(job.command(overrides), stdout=log,
                                        stderr=subprocess.STDOUT, env=env)  # keeps its own fd
            running[proc] = (job, now)
            job.status = "running"  # as pool.json says while the pool goes on
            print(f"start {job.name} ({Path(job.grid).name}), {len(running)} running",
                  flush=True)
        for job, _ in running.values():
            job.shared_with = max(job.shared_with, len(running))
        if not stopping and now >= next_check:
            next_check = now + 20
            late = late_runs(running, hopeless, deadline - now)
            if late:
                # One at a time: the runs share the chip, so each one stopped speeds the
                # others up; stopping every late run at once could leave none to finish.
                need, proc = late[0]
                hopeless.add(proc)
                proc.send_signal(signal.SIGTERM)
                print(f"stopping {running[proc][0].name}: needs ~{need:.0f} s, "
                      f"{deadline - now:.0f} s left", flush=True)
        if not stopping and (now >= deadline or (not running and waiting)):
            stopping = True  # nothing more fits: stop the rest, keep what finished
            for proc in running:
                proc.send_signal(signal.SIGTERM)
            kill_at = now + 60
        for proc in [p for p in running if p.poll() is not None]:
            job, started = running.pop(proc)
            job.seconds = round(time.monotonic() - started, 1)
            job.median_step = median_step(job)
            # the record is saved as the run ends, before the leaderboard is written
            job.status = ("finished" if has_record(job.record)
                          else "would not finish in time" if proc in hopeless
                          else "stopped at the deadline" if stopping
                          else f"failed (exit {proc.returncode})")
            if job.status == "finished":
                mark_shared(Path(job.record), job.shared_with)
                on_finish()
            print(f"{job.status}: {job.name} in {job.seconds:.0f} s", flush=True)
        if stopping and running and time.monotonic() >= kill_at:
            for proc in running:
                proc.kill()
        time.sleep(1)


def late_runs(running: dict[subprocess.Popen, tuple[Job, float]], hopeless: set,
              left: float) -> list[tuple[float, subprocess.Popen]]:
    """The runs that at their current speed need over 1.25x the ``left`` seconds.

    Returns:
        ``(seconds needed, process)`` pairs, the furthest from finishing first.
    """
    late = []
    for proc, (job, _) in running.items():
        need = seconds_to_finish(job)
        if proc not in hopeless and need is not None and need > 1.25 * left:
            late.append((need, proc))
    return sorted(late, key=lambda pair: -pair[0])


def mark_shared(record: Path, runs: int) -> None:
    """Write into a record's result.json how many runs shared the device with it.

    Its wall time is that of one of ``runs`` runs side by side, not of a run alone; the
    leaderboard shows it next to the hardware (``shared_device_runs``).
    """
    path = record / "result.json"
    result = json.loads(path.read_text())
    result["shared_device_runs"] = runs
    path.write_text(json.dumps(result, indent=1) + "\n")


def pack(jobs: list[Job], out: Path, logs: Path, root: Path) -> None:
    """Write ``records.tar.gz``, ``pool.json`` and ``failures.log`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    part = out / "records.tar.gz.part"  # renamed when whole: a cut call keeps the last one
    with tarfile.open(part, "w:gz") as tar:
        for job in jobs:
            if job.status == "finished":
                tar.add(job.record, arcname=str(Path(job.record).resolve().relative_to(root)))
    part.replace(out / "records.tar.gz")
    (out / "pool.json").write_text(json.dumps([asdict(j) for j in jobs], indent=1) + "\n")
    with (out / "failures.log").open("w") as fail:
        for job in jobs:
            if job.status.startswith("failed"):
                log = logs / f"{Path(job.grid).stem}-{job.name}.log"
                tail = log.read_text(errors="replace").splitlines()[-40:]
                fail.write(f"== {job.grid} {job.name}: {job.status}\n" + "\n".join(tail) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("grids", nargs="+", type=Path, help="grid YAML files, in priority order")
    parser.add_argument("--workers", type=int, default=12, help="runs at once (default 12)")
    parser.add_argument("--deadline", type=float, default=480,
                        help="seconds from now after which running runs are stopped")
    parser.add_argument("--min-run", type=float, default=120,
                        help="start no run with fewer seconds than this left (default 120)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="config override of every run")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "bench_out/gpu")),
                        help="where the records, pool.json and failures.log go")
    parser.add_argument("--dry-run", action="store_true", help="list the runs, start none")
    args = parser.parse_args()
    deadline = time.monotonic() + args.deadline
    overrides = ["train.num_threads=1", *args.overrides]
    jobs: list[Job] = []
    for grid in args.grids:
        found, notes = grid_jobs(grid, overrides)
        jobs += found
        for note in notes:
            print(note)
    jobs.sort(key=lambda j: -STEP_COST.get(j.method, STEP_COST["supervised"]))  # stable
    print(f"{len(jobs)} runs without a record, longest first")
    if args.dry_run:
        print("\n".join(f"{Path(j.grid).name} {j.name}" for j in jobs))
        return
    logs = Path("bench_out/gpu_pool_logs")
    root = Path.cwd().resolve()
    run_pool(jobs, overrides, args.workers, deadline, args.min_run, logs,
             on_finish=lambda: pack(jobs, args.out, logs, root))
    pack(jobs, args.out, logs, root)
    done = sum(j.status == "finished" for j in jobs)
    print(f"{done} of {len(jobs)} runs finished; records in {args.out / 'records.tar.gz'}")


if __name__ == "__main__":
    main()
