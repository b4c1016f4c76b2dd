"""THE training loop: one for every method.

The loop owns data, device, precision, optimizer, schedule, validation, checkpoints and
logs; a method only turns a :class:`SemiBatch` into a loss. Run folder layout::

    run_dir/config.yaml       resolved config (+ version, git hash)
    run_dir/split.json        the split used
    run_dir/train.csv         loss terms, lr, it/s, peak memory every ``log_every`` steps
    run_dir/val.csv           val Dice per class every ``val_every`` steps
    run_dir/tensorboard/      the same scalars for TensorBoard
    run_dir/checkpoints/      last.pt (resumable), best.pt (best val Dice)
    run_dir/eval/             final metrics of best.pt on val, predictions, overview.png, and
                              for cardiac data the clinical read-outs (val_clinical.csv/.json)
    run_dir/result.json       the headline numbers of the run

Under torchrun every rank runs this loop on its shard of each batch; validation cases
are shared out and their scores all-reduced; only rank 0 writes.
"""

from __future__ import annotations

import math
import os
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from semiseg.atomic import write_text_atomic
from semiseg.config import RunConfig, from_dict, to_dict, validate
from semiseg.config_yaml import read_yaml
from semiseg.data.profile import PROFILE_FILE, make_profile, write_profile
from semiseg.data.splits import load_split, save_split
from semiseg.engine.checkpoint import load_checkpoint, save_checkpoint
from semiseg.engine.data import RunData
from semiseg.engine.deadline import ends_after
from semiseg.engine.distributed import DistInfo, all_reduce_mean, all_reduce_sum, shutdown
from semiseg.engine.logging import RunLogger
from semiseg.engine.runtime import hardware_name, peak_memory_gib, reset_peak_memory
from semiseg.engine.stop import StopRequest
from semiseg.engine.trainer import Trainer, build_trainer, method_from_checkpoint
from semiseg.errors import RunPastDeadlineError, RunStoppedError, SemisegError
from semiseg.evaluation import (
    Predictor,
    evaluate_network,
    validation_dice,
    write_evaluation,
)
from semiseg.metrics.report import format_summary, write_json
from semiseg.version import provenance

__all__ = ["NonFiniteLossError", "Trainer", "read_run_config", "train", "write_run_config"]


class NonFiniteLossError(SemisegError):
    """The loss became NaN or inf; the last good checkpoint is kept."""


def write_run_config(config: RunConfig, run_dir: Path) -> None:
    """``config.yaml`` with the resolved config and where it was produced."""
    text = yaml.safe_dump(to_dict(config), sort_keys=False)
    prov = yaml.safe_dump({"provenance": provenance()}, sort_keys=False)
    write_text_atomic(run_dir / "config.yaml",
                      text + "\n# written by semiseg; provenance (informational):\n"
                      + "\n".join("# " + line for line in prov.splitlines()) + "\n")


def read_run_config(run_dir: Path) -> RunConfig:
    """The config a run folder was started with (for ``--resume`` and evaluation)."""
    path = run_dir / "config.yaml"
    if not path.is_file():
        raise SemisegError(f"{run_dir}: not a run folder (no config.yaml)")
    config = from_dict(RunConfig, read_yaml(path))
    validate(config)
    return config


def ensure_writable(folder: Path) -> None:
    """Create ``folder`` and check that files can be written there, before any training.

    Raises:
        SemisegError: naming the folder, when it cannot be created or written.
    """
    probe = folder / f".write-test-{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        reason = err.strerror or str(err)
        raise SemisegError(f"{folder}: cannot write the run folder ({reason})") from None


def validation_scores(trainer: Trainer) -> dict[str, float]:
    """Mean val Dice per class and overall; cases shared out over ranks, sums all-reduced."""
    info, data = trainer.dist, trainer.data
    names = data.dataset.class_names
    mine = data.val_cases[info.rank::info.world_size]
    dices = validation_dice(trainer.method.predictor(), mine, len(names), trainer.config,
                            trainer.device, trainer.amp)
    sums = {f"dice_{n}": float(d) for n, d in zip(names[1:], dices.sum(0), strict=True)}
    sums["n"] = float(len(mine))
    total = all_reduce_sum(sums, info, trainer.device)
    n = max(total.pop("n"), 1.0)
    scores = {k: v / n for k, v in total.items()}
    scores["dice_mean"] = float(np.mean(list(scores.values())))
    return scores


def _scans_note(data: RunData) -> str:
    """How many unlabeled cases are scans without a mask, and how many were left out."""
    scans = data.dataset.unlabeled_cases
    if not scans:
        return ""
    used = len(set(scans) & set(data.split.unlabeled))
    left = len(scans) - used
    return f" ({used} without masks" + (f", {left} of val/test patients left out)" if left
                                        else ")")


class _Session:
    """One training session of a run folder: best-so-far, step timings, checkpoints.

    What must survive a stop rides in ``last.pt`` (:meth:`snapshot`): the steps done, the
    best validation, the wall seconds of earlier sessions, every logging interval's mean
    step time (so a resumed run's median step is its whole run's), whether the step it
    stopped at still owes its validation, and a record of each session (:meth:`history`):
    a run resumed across machines or commits says which steps ran where, on what code.
    """

    def __init__(self, trainer: Trainer, run_dir: Path, start_state: dict[str, Any] | None,
                 t_start: float, deadline: float | None = None) -> None:
        self.trainer, self.info, self.t_cfg = trainer, trainer.dist, trainer.config.train
        self.deadline = deadline  # epoch seconds (None: none)
        self.projection = (math.nan, math.nan)  # (s/step, projected end) at the last check
        self.stopped_late = False  # the stop came from the deadline, not from a signal
        self.ckpt_dir = run_dir / "checkpoints"
        self.t_start = t_start  # this session's set-up (data loading) counts as run time
        self.start, self.best = 0, {"dice_mean": -1.0, "step": -1}
        self.earlier = 0.0  # wall seconds of the run's earlier sessions (before a resume)
        self.step_times: list[float] = []  # mean step time of each logging interval
        self.val_pending = False
        self.sessions: list[dict[str, Any]] = []  # earlier sessions' records
        if start_state is not None:
            self.start, self.best = trainer.load_state_dict(start_state)
            self.earlier = float(start_state.get("elapsed_seconds", 0.0))
            self.step_times = [float(t) for t in start_state.get("step_times", [])]
            self.val_pending = bool(start_state.get("val_pending"))
            self.sessions = [dict(s) for s in start_state.get("sessions", [])]
            if not self.sessions and self.start > 0:  # a checkpoint older than the records
                self.sessions = [session_record(0, self.start, None, None, None, None,
                                                self.earlier, self.step_times)]
        self.timed_before = len(self.step_times)  # intervals timed by earlier sessions
        self.started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        self.hardware = hardware_name(trainer.device, self.info.world_size)
        self.code = provenance().get("git")
        self.logger = RunLogger(run_dir, self.t_cfg.iterations, self.start,
                                self.t_cfg.progress_bar, enabled=self.info.is_main)

    def wall(self) -> float:
        """Wall seconds of the whole run so far, earlier sessions included."""
        return self.earlier + time.perf_counter() - self.t_start

    def snapshot(self, done: int, val_pending: bool = False) -> dict[str, Any]:
        """The resumable state after ``done`` steps."""
        state = self.trainer.state_dict(done, self.best)
        state["elapsed_seconds"] = self.wall()
        state["step_times"] = list(self.step_times)
        state["val_pending"] = val_pending
        state["sessions"] = self.history(done)
        return state

    def history(self, done: int) -> list[dict[str, Any]]:
        """Each session's record (:func:`session_record`), this one's up to step ``done``."""
        return [*self.sessions,
                session_record(self.start, done, self.started, self.hardware,
                               str(self.trainer.amp), self.code,
                               time.perf_counter() - self.t_start,
                               self.step_times[self.timed_before:])]

    def save(self, done: int, name: str, val_pending: bool = False) -> None:
        """Write ``checkpoints/<name>`` (rank 0 only; every rank builds the state)."""
        state = self.snapshot(done, val_pending)
        if self.info.is_main:
            save_checkpoint(state, self.ckpt_dir / name)

    def validate(self, done: int) -> float:
        """Validate at step ``done``, keep ``best.pt``; returns the seconds it took."""
        t_val = time.perf_counter()
        scores = validation_scores(self.trainer)
        scores["seconds"] = time.perf_counter() - t_val
        self.logger.val(done, scores)
        if scores["dice_mean"] > self.best["dice_mean"]:
            self.best = {"dice_mean": scores["dice_mean"], "step": done}
            self.save(done, "best.pt")
        return time.perf_counter() - t_val

    def catch_up(self) -> None:
        """Run the validation that a stop at the resumed step skipped, if any."""
        if self.val_pending:
            self.validate(self.start)
            self.save(self.start, "last.pt")  # a second resume must not validate again
            self.val_pending = False

    def is_late(self, done: int, t_log: float, n_logged: int) -> bool:
        """Whether, at this session's median step, the run would end after the deadline.

        Sets :attr:`projection`. Only this session's intervals count (an earlier one may
        have run on another machine), the current one included.
        """
        if self.deadline is None:
            return False
        times = [*self.step_times[self.timed_before:], (time.perf_counter() - t_log) / n_logged]
        late, step, end = ends_after(self.deadline, time.time(), self.t_cfg.iterations - done,
                                     times)
        self.projection = (step, end)
        return late

    def run_steps(self, stop: StopRequest) -> int:
        """Train from ``start`` to the last step; returns the step a stop ended at (0: none).

        A stop comes from a signal (:class:`StopRequest`) or, with a deadline, from this
        machine's speed (:meth:`is_late`, checked at each logging step but the last).

        Raises:
            NonFiniteLossError: a logged interval's loss was NaN/inf (last.pt kept).
        """
        trainer, info, t_cfg = self.trainer, self.info, self.t_cfg
        total = t_cfg.iterations
        sums: dict[str, Any] = {}
        n_logged, t_log = 0, time.perf_counter()
        nonfinite = torch.zeros((), device=trainer.device)
        for step in range(self.start, total):
            out, lr = trainer.step(step)
            nonfinite = torch.maximum(nonfinite, (~torch.isfinite(out.loss.detach())).float())
            for k, v in {"loss": out.loss.detach(), **out.logs}.items():
                sums[k] = sums.get(k, 0.0) + v
            n_logged += 1
            self.logger.advance()
            done = step + 1
            is_last = done == total
            log_now = done % t_cfg.log_every == 0 or is_last
            val_now = done % t_cfg.val_every == 0 or is_last
            ckpt_now = done % t_cfg.checkpoint_every == 0 or is_last
            if not (log_now or val_now or ckpt_now):
                continue
            late = log_now and not is_last and self.is_late(done, t_log, n_logged)
            # the only host sync of the step loop: before anything is logged or saved
            flags = all_reduce_mean({"bad": float(nonfinite), "stop": float(stop.signum),
                                     "late": float(late)}, info, trainer.device)
            if flags["bad"] > 0:
                raise NonFiniteLossError(
                    f"loss became NaN/inf between steps {done - n_logged + 1} and {done}; the last "
                    f"good checkpoint is {self.ckpt_dir / 'last.pt'} (try a lower optim.lr or "
                    "train.amp=off)")
            if log_now:
                elapsed = time.perf_counter() - t_log
                self.step_times.append(elapsed / n_logged)
                scalars = all_reduce_mean({k: float(v) / n_logged for k, v in sums.items()}, info,
                                          trainer.device)
                # the run's peak so far: dates the moment its peak memory was reached
                scalars.update(lr=lr, it_per_s=n_logged / elapsed,
                               peak_memory_gib=peak_memory_gib(trainer.device))
                self.logger.train(done, scalars)
                sums, n_logged, t_log = {}, 0, time.perf_counter()
            # seen by some rank: all save last.pt and stop
            stop_now = flags["stop"] > 0 or flags["late"] > 0
            if val_now and not stop_now:
                t_log += self.validate(done)  # validation time is not training speed
            if ckpt_now or stop_now:
                t_ckpt = time.perf_counter()
                # a stop skips this step's validation; the resume runs it first
                self.save(done, "last.pt", val_pending=val_now and stop_now)
                t_log += time.perf_counter() - t_ckpt  # nor is checkpointing
            if stop_now:
                self.stopped_late = flags["stop"] == 0
                return done
        return 0


def session_record(first: int, done: int, started: str | None, hardware: str | None,
                   amp: str | None, git: str | None, wall_seconds: float,
                   step_times: list[float]) -> dict[str, Any]:
    """What one training session of a run did, for ``last.pt`` and ``result.json``.

    Args:
        first: Steps done when the session began.
        done: Steps done when it ended (or now).
        started: Local ISO time it began; None (like ``hardware``, ``amp`` and ``git``)
            for a session whose checkpoint predates these records.
        hardware: :func:`~semiseg.engine.runtime.hardware_name`.
        amp: The autocast dtype (``"None"``: fp32).
        git: The code's commit.
        wall_seconds: The session's wall time, set-up and validations included.
        step_times: Its logging intervals' mean step times.

    Returns:
        A JSON-ready dict; ``median_seconds_per_iteration`` is None without a timed interval.
    """
    return {"steps": [first, done], "started": started, "hardware": hardware, "amp": amp,
            "git": git, "wall_seconds": round(wall_seconds, 1),
            "median_seconds_per_iteration": (float(np.median(step_times)) if step_times
                                             else None)}


def train(config: RunConfig, run_dir: str | Path, resume: bool = False,
          deadline: float | None = None) -> dict[str, Any]:
    """Train ``config.method`` and evaluate its best checkpoint on the val cases.

    Args:
        config: The run config (for ``resume``, the one in ``run_dir``).
        run_dir: Output folder (created).
        resume: Continue from ``run_dir/checkpoints/last.pt``.
        deadline: Epoch seconds: stop (saving ``last.pt``) at the first logging step whose
            measured speed says the run, with its validations, would end after it.

    Returns:
        The run's ``result.json`` content (on every rank).

    Raises:
        RunStoppedError: a stop signal (state saved).
        RunPastDeadlineError: too slow for ``deadline`` (state saved).
        SemisegError: bad data, config, or a non-finite loss (last good checkpoint kept).
    """
    run_dir = Path(run_dir)
    ckpt_dir = run_dir / "checkpoints"
    ensure_writable(ckpt_dir)
    reset_peak_memory()  # this run's own peak, not an earlier run's in the same process
    t_start = time.perf_counter()
    start_state = load_checkpoint(ckpt_dir / "last.pt") if resume else None
    trainer = build_trainer(config, load_split(run_dir / "split.json") if resume else None)
    info, data = trainer.dist, trainer.data
    if not resume and info.is_main:
        write_run_config(config, run_dir)
        save_split(data.split, run_dir / "split.json")
    if info.is_main and (not resume or not (run_dir / PROFILE_FILE).is_file()):
        # what predict needs of the data set, so the run folder predicts without it
        write_profile(make_profile(config.data, data.dataset, data.split.labeled), run_dir)
    session = _Session(trainer, run_dir, start_state, t_start, deadline)
    session.logger.message(_start_line(trainer))
    for warning in data.warnings:
        session.logger.message(f"warning: {warning}")
    for note in trainer.notes:  # e.g. a resume that keeps its earlier sessions' precision
        session.logger.message(note)
    session.catch_up()
    with StopRequest() as stop:
        stopped_at = session.run_steps(stop)
    session.logger.close()
    if stopped_at:
        shutdown(info)
        resume_hint = (f"saved {ckpt_dir / 'last.pt'}; continue with: semiseg train --resume "
                       f"{run_dir}")
        if session.stopped_late:
            step, end = session.projection  # this rank's; the ranks step in lockstep
            raise RunPastDeadlineError(
                f"stopped {run_dir} at step {stopped_at} of {config.train.iterations}: at "
                f"{step:.2f} s a step here it would end about {_clock(end)}, after the "
                f"deadline {_clock(deadline or end)}; {resume_hint}", step)
        name = signal.Signals(stop.signum or signal.SIGTERM).name  # SIGTERM: another rank's
        raise RunStoppedError(f"stopped by {name} at step {stopped_at} of "
                              f"{config.train.iterations}; {resume_hint}",
                              stop.signum or signal.SIGTERM)
    result = (finish_run(config, run_dir, data, trainer.device, trainer.amp, session.wall(),
                         session.step_times, info,
                         session.history(config.train.iterations)) if info.is_main else {})
    shutdown(info)
    return result


def _clock(epoch: float) -> str:
    """Local date and time, to the minute, of epoch seconds."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(epoch))


def _start_line(trainer: Trainer) -> str:
    """The run's first log line: method, data, split, device and set-up time."""
    config, data, info = trainer.config, trainer.data, trainer.dist
    fold = (f" (fold {config.data.fold} of {config.data.folds})" if config.data.folds
            else "")
    return (f"semiseg: {config.method.name} on {data.dataset.root.name} | "
            f"{len(data.split.labeled)} labeled, {len(data.split.unlabeled)} unlabeled"
            f"{_scans_note(data)}, {len(data.split.val)} val cases{fold} | "
            f"{len(data.labeled)} labeled samples | device {trainer.device} "
            f"x{info.world_size} ({hardware_name(trainer.device)}), amp {trainer.amp}, "
            f"ready in {trainer.setup_seconds:.1f}s")


def finish_run(config: RunConfig, run_dir: Path, data: RunData, device: torch.device,
               amp: torch.dtype | None, wall: float, step_times: list[float],
               info: DistInfo | None = None,
               sessions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Evaluate ``best.pt`` on the val cases with all metrics; write eval/ and result.json.

    ``sessions``: the run's training sessions (:func:`session_record`), kept in
    ``result.json`` so that a run resumed on another machine or commit says so.
    """
    from semiseg.visualize import save_overview

    ds = data.dataset
    state = load_checkpoint(run_dir / "checkpoints" / "best.pt")
    method = method_from_checkpoint(config, ds, state, device)
    eval_dir = run_dir / "eval"
    pred_dir = eval_dir / "predictions" if config.eval.save_predictions else None
    rows, summary, preds = evaluate_network([Predictor(method.predictor(), config, device, amp)],
                                            data.val_cases, ds.class_names, pred_dir,
                                            ds.file_ending)
    clinical = write_evaluation(rows, summary, preds, data.val_cases, ds.labels, eval_dir,
                                prefix="val_")
    per_case = [float(np.mean([r["dice"] for r in rows if r["case"] == c.case_id]))
                for c in data.val_cases]
    picture = save_overview(data.val_cases, preds, per_case, ds.class_names,
                            config.data.slice_axis, eval_dir / "overview.png")
    median_step = float(np.median(step_times)) if step_times else math.nan
    result = {
        "method": config.method.name, "data": str(ds.root), "seed": config.train.seed,
        "labeled_cases": len(data.split.labeled), "iterations": config.train.iterations,
        "best_step": int(state["best"]["step"]),
        "val_dice_at_selection": state["best"]["dice_mean"],
        "val": summary["mean"], "val_per_class": summary["per_class"],
        "distance_units": rows[0]["units"] if rows else "voxel",
        "wall_seconds": wall, "median_seconds_per_iteration": median_step,
        "peak_memory_gib": peak_memory_gib(device),
        "device": str(device), "processes": info.world_size if info else 1,
        "hardware": hardware_name(device, info.world_size if info else 1), "amp": str(amp),
        "provenance": provenance(), "sessions": sessions or [],
        "paths": {"run": str(run_dir), "metrics": str(eval_dir / "val_metrics.csv"),
                  "summary": str(eval_dir / "val_summary.json"),
                  "predictions": str(pred_dir) if pred_dir else None, "picture": str(picture),
                  "agreement": next((str(p) for p in (eval_dir / "val_clinical.png",
                                                      eval_dir / "val_hc.png") if p.is_file()),
                                    None)},
        "table": format_summary(summary),
    }
    if clinical is not None:  # cardiac data: EF errors in percentage points, volumes
        result["clinical"] = clinical
    write_json(result, run_dir / "result.json")
    return result
