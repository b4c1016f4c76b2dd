"""One training session of a run folder: the step loop, its timing, checkpoints and record.

A run may take several sessions (a stop signal, a deadline, a crash, then ``--resume``),
each perhaps on another machine or commit; :class:`Session` carries what must survive
between them in ``last.pt`` and records each session (:func:`session_record`).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from semiseg.engine.checkpoint import save_checkpoint
from semiseg.engine.deadline import ends_after
from semiseg.engine.distributed import all_reduce_mean, all_reduce_sum
from semiseg.engine.logging import RunLogger
from semiseg.engine.runtime import hardware_name, peak_memory_gib
from semiseg.engine.stop import StopRequest
from semiseg.engine.trainer import Trainer
from semiseg.errors import SemisegError
from semiseg.evaluation import validation_dice
from semiseg.version import provenance

__all__ = ["NonFiniteLossError", "Session", "session_record", "validation_scores"]


class NonFiniteLossError(SemisegError):
    """The loss became NaN or inf; the last good checkpoint is kept."""


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


class Session:
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
