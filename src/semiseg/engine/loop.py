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
    run_dir/result.json       the headline numbers of the run, and each training session's
                              steps, machine and commit (engine/session.py)

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
from semiseg.engine.checkpoint import load_checkpoint
from semiseg.engine.data import RunData
from semiseg.engine.distributed import DistInfo, shutdown
from semiseg.engine.logging import read_val_curve
from semiseg.engine.runtime import hardware_name, peak_memory_gib, reset_peak_memory
from semiseg.engine.session import NonFiniteLossError, Session
from semiseg.engine.stop import StopRequest
from semiseg.engine.trainer import Trainer, build_trainer, method_from_checkpoint
from semiseg.errors import RunPastDeadlineError, RunStoppedError, SemisegError
from semiseg.evaluation import (
    Predictor,
    evaluate_network,
    write_evaluation,
)
from semiseg.metrics.report import format_summary, write_json
from semiseg.version import provenance

__all__ = ["NonFiniteLossError", "Trainer", "read_run_config", "train", "write_run_config"]


def write_run_config(config: RunConfig, run_dir: Path) -> None:
    """``config.yaml`` with the resolved config and where it was produced."""
    text = yaml.safe_dump(to_dict(config), sort_keys=False)
    prov = yaml.safe_dump({"provenance": provenance()}, sort_keys=False)
    write_text_atomic(run_dir / "config.yaml",
                      text + "\n# written by semiseg; provenance (informational):\n"
                      + "\n".join("# " + line for line in prov.splitlines()) + "\n")


def read_run_config(run_dir: Path) -> RunConfig:
    """The config a run folder was started with (for ``--resume`` and evaluation).

    Raises:
        SemisegError: no such folder, or not a run folder (no ``config.yaml``), naming it.
    """
    path = run_dir / "config.yaml"
    if not run_dir.exists():
        raise SemisegError(f"{run_dir}: no such run folder")
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


def _scans_note(data: RunData) -> str:
    """How many unlabeled cases are scans without a mask, and how many were left out."""
    scans = data.dataset.unlabeled_cases
    if not scans:
        return ""
    used = len(set(scans) & set(data.split.unlabeled))
    left = len(scans) - used
    return f" ({used} without masks" + (f", {left} of val/test patients left out)" if left
                                        else ")")


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
    session = Session(trainer, run_dir, start_state, t_start, deadline)
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

    ``result.json`` also keeps the last validation's mean Dice (``val_dice_last``), so that a
    run that degraded after its best checkpoint says so (:func:`~semiseg.run_info.fall_note`).

    ``sessions``: the run's training sessions
    (:func:`~semiseg.engine.session.session_record`), kept in ``result.json`` so that a
    run resumed on another machine or commit says so.
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
    curve = read_val_curve(run_dir)
    result = {
        "method": config.method.name, "data": str(ds.root), "seed": config.train.seed,
        "labeled_cases": len(data.split.labeled), "iterations": config.train.iterations,
        "best_step": int(state["best"]["step"]),
        "val_dice_at_selection": state["best"]["dice_mean"],
        # the end of the val curve: far below the selection, the run degraded after its best
        "val_dice_last": {"step": curve[-1][0], "dice_mean": curve[-1][1]} if curve else None,
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
