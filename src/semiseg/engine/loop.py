"""THE training loop: one for every method.

The loop owns data, device, precision, optimizer, schedule, validation, checkpoints and
logs; a method only turns a :class:`SemiBatch` into a loss. Run folder layout::

    run_dir/config.yaml       resolved config (+ version, git hash)
    run_dir/split.json        the split used
    run_dir/train.csv         loss terms, lr, it/s every ``log_every`` steps
    run_dir/val.csv           val Dice per class every ``val_every`` steps
    run_dir/tensorboard/      the same scalars for TensorBoard
    run_dir/checkpoints/      last.pt (resumable), best.pt (best val Dice)
    run_dir/eval/             final metrics of best.pt on val, predictions, overview.png
    run_dir/result.json       the headline numbers of the run
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

from semiseg.augment import weak_augment
from semiseg.config import RunConfig, from_dict, to_dict
from semiseg.data.nnunet import NnUNetDataset
from semiseg.data.splits import Split, load_split, save_split
from semiseg.engine.checkpoint import load_checkpoint, save_checkpoint
from semiseg.engine.data import RunData, prepare_data
from semiseg.engine.logging import RunLogger
from semiseg.engine.optim import build_optimizer, lr_factor, set_lr
from semiseg.engine.runtime import (
    configure_threads,
    resolve_amp,
    resolve_channels_last,
    resolve_device,
    seed_everything,
)
from semiseg.errors import SemisegError
from semiseg.evaluation import evaluate_network, validation_scores
from semiseg.inference import autocast
from semiseg.methods import (
    METHODS,
    NetSpec,
    Progress,
    SemiBatch,
    SemiSupervisedMethod,
    StepOutput,
    create_method,
)
from semiseg.metrics.report import format_summary, write_json, write_rows_csv
from semiseg.version import provenance


class NonFiniteLossError(SemisegError):
    """The loss became NaN or inf; the last good checkpoint is kept."""


@dataclass
class _Phase:
    name: str
    start: int
    steps: int


def _phases(method: Any, total: int) -> list[_Phase]:
    lengths = method.phase_steps(total)
    if list(lengths) != list(method.phases) or sum(lengths.values()) != total:
        raise SemisegError(f"method {method.name}: phase_steps {lengths} do not cover "
                           f"{total} steps over phases {method.phases}")
    out, start = [], 0
    for name, steps in lengths.items():
        out.append(_Phase(name, start, steps))
        start += steps
    return out


def _locate(phases: list[_Phase], step: int) -> _Phase:
    return next(p for p in phases if p.start <= step < p.start + p.steps)


def make_batch(data: RunData, config: RunConfig, gens: dict[str, torch.Generator],
               device: torch.device, uses_unlabeled: bool, channels_last: bool) -> SemiBatch:
    """Sample, move to the device and weakly augment one two-stream batch."""
    cfg = config.data
    n_l = cfg.labeled_batch_size if uses_unlabeled else cfg.batch_size
    x_l, y_l, meta_l = data.labeled.sample(n_l, gens["sampler"])
    x_l, y_l = x_l.to(device, non_blocking=True), y_l.to(device, non_blocking=True)
    x_l, y_l = weak_augment(x_l, y_l, config.augment, gens["augment"])
    meta = {f"{k}_l": v for k, v in meta_l.items()}
    if uses_unlabeled and data.unlabeled is not None:
        x_u, _, meta_u = data.unlabeled.sample(cfg.batch_size - n_l, gens["sampler"])
        x_u, _ = weak_augment(x_u.to(device, non_blocking=True), None, config.augment,
                              gens["augment"])
        meta.update({f"{k}_u": v for k, v in meta_u.items()})
    else:
        x_u = x_l.new_zeros((0, *x_l.shape[1:]))
    if channels_last:
        fmt = torch.channels_last if x_l.ndim == 4 else torch.channels_last_3d
        x_l, x_u = x_l.contiguous(memory_format=fmt), x_u.contiguous(memory_format=fmt)
    return SemiBatch(x_l=x_l, y_l=y_l, x_u=x_u, meta=meta)


def _rng_state(gens: dict[str, torch.Generator]) -> dict[str, Any]:
    state = {f"gen_{k}": g.get_state() for k, g in gens.items()}
    state["torch_cpu"] = torch.get_rng_state()
    if torch.cuda.is_available():
        state["torch_cuda"] = torch.cuda.get_rng_state_all()
    return state


def _load_rng_state(state: dict[str, Any], gens: dict[str, torch.Generator]) -> None:
    for k, g in gens.items():
        g.set_state(state[f"gen_{k}"])
    torch.set_rng_state(state["torch_cpu"])
    if "torch_cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["torch_cuda"])


def write_run_config(config: RunConfig, run_dir: Path) -> None:
    """``config.yaml`` with the resolved config and where it was produced."""
    run_dir.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump({**to_dict(config)}, sort_keys=False)
    prov = yaml.safe_dump({"provenance": provenance()}, sort_keys=False)
    tmp = run_dir / ".config.yaml.tmp"
    tmp.write_text(text + "\n# written by semiseg; 'provenance' is informational\n"
                   + "\n".join("# " + line for line in prov.splitlines()) + "\n")
    tmp.replace(run_dir / "config.yaml")


def read_run_config(run_dir: Path) -> RunConfig:
    """The config a run folder was started with (for ``--resume`` and evaluation)."""
    path = run_dir / "config.yaml"
    if not path.is_file():
        raise SemisegError(f"{run_dir}: not a run folder (no config.yaml)")
    from semiseg.config import read_yaml, validate

    config = from_dict(RunConfig, read_yaml(path))
    validate(config)
    return config


@dataclass
class Trainer:
    """Everything a training step needs, built once by :func:`build_trainer`."""

    config: RunConfig
    data: RunData
    method: SemiSupervisedMethod
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    gens: dict[str, torch.Generator]
    device: torch.device
    amp: torch.dtype | None
    channels_last: bool
    phases: list[_Phase]
    setup_seconds: float
    _phase: _Phase | None = None

    def step(self, step: int) -> tuple[StepOutput, float]:
        """One optimizer step at global index ``step``; returns the output and the lr."""
        current = _locate(self.phases, step)
        if self._phase is not current:
            self._phase = current
            self.method.on_phase_start(current.name)
        progress = Progress(step, self.config.train.iterations, current.name,
                            step - current.start, current.steps)
        lr = set_lr(self.optimizer, lr_factor(step - current.start, current.steps,
                                              self.config.optim))
        self.method.train()
        batch = make_batch(self.data, self.config, self.gens, self.device,
                           self.method.uses_unlabeled, self.channels_last)
        with autocast(self.device, self.amp):
            out = self.method.training_step(batch, progress)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(out.loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.method.on_after_optimizer_step(progress)
        return out, lr

    def state_dict(self, step: int, best: dict[str, Any]) -> dict[str, Any]:
        """Everything needed to resume after ``step`` steps exactly."""
        state = {"method": self.method.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "scaler": self.scaler.state_dict(), "rng": _rng_state(self.gens),
                 "bank_labeled": self.data.labeled.state_dict(), "step": step, "best": best,
                 "config": to_dict(self.config), "provenance": provenance()}
        if self.data.unlabeled is not None:
            state["bank_unlabeled"] = self.data.unlabeled.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Restore :meth:`state_dict`; returns ``(step, best)``."""
        self.method.load_state_dict(state["method"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        _load_rng_state(state["rng"], self.gens)
        self.data.labeled.load_state_dict(state["bank_labeled"])
        if self.data.unlabeled is not None:
            self.data.unlabeled.load_state_dict(state["bank_unlabeled"])
        return int(state["step"]), dict(state["best"])


def net_spec(config: RunConfig, dataset: NnUNetDataset) -> NetSpec:
    """The network description of a run: model config + the data set's channels/classes."""
    return NetSpec(config.model.name, config.data.spatial_dims, dataset.num_channels,
                   dataset.num_classes, {"channels": config.model.channels,
                                         "dropout": config.model.dropout})


def build_trainer(config: RunConfig, split: Split | None = None) -> Trainer:
    """Seed, pick device and precision, load the data, build method and optimizer."""
    t_cfg = config.train
    seed_everything(t_cfg.seed)
    configure_threads(t_cfg.num_threads)
    device = resolve_device(t_cfg.device)
    amp = resolve_amp(t_cfg.amp, device)
    method_cls = METHODS.get(config.method.name)
    t_start = time.perf_counter()
    data = prepare_data(config, device, method_cls.uses_unlabeled, split)
    method = create_method(config.method.name, config.method.params,
                           net_spec(config, data.dataset)).to(device)
    channels_last = resolve_channels_last(t_cfg.channels_last, config.data.spatial_dims)
    if channels_last:
        fmt = torch.channels_last if config.data.spatial_dims == 2 else torch.channels_last_3d
        method = method.to(memory_format=fmt)
    optimizer = build_optimizer(method.optimizer_groups(), config.optim)
    scaler = torch.amp.GradScaler(device.type, enabled=amp == torch.float16)
    gens = {"sampler": torch.Generator().manual_seed(t_cfg.seed + 1),
            "augment": torch.Generator(device=device).manual_seed(t_cfg.seed + 2)}
    if t_cfg.compile:  # the networks; a method itself is called through training_step
        for net in method.children():
            net.compile()
    return Trainer(config, data, method, optimizer, scaler, gens, device, amp, channels_last,
                   _phases(method, t_cfg.iterations), time.perf_counter() - t_start)


def train(config: RunConfig, run_dir: str | Path, resume: bool = False) -> dict[str, Any]:
    """Train ``config.method`` and evaluate its best checkpoint on the val cases.

    Args:
        config: The run config (for ``resume``, the one in ``run_dir``).
        run_dir: Output folder (created).
        resume: Continue from ``run_dir/checkpoints/last.pt``.

    Returns:
        The run's ``result.json`` content.

    Raises:
        SemisegError: bad data, config, or a non-finite loss (last good checkpoint kept).
    """
    run_dir = Path(run_dir)
    ckpt_dir = run_dir / "checkpoints"
    t_start = time.perf_counter()
    start_state = load_checkpoint(ckpt_dir / "last.pt") if resume else None
    trainer = build_trainer(config, load_split(run_dir / "split.json") if resume else None)
    data, t_cfg = trainer.data, config.train
    if not resume:
        write_run_config(config, run_dir)
        save_split(data.split, run_dir / "split.json")
    start, best = 0, {"dice_mean": -1.0, "step": -1}
    if start_state is not None:
        start, best = trainer.load_state_dict(start_state)
    total = t_cfg.iterations
    ds = data.dataset
    logger = RunLogger(run_dir, total, start, t_cfg.progress_bar)
    logger.message(f"semiseg: {config.method.name} on {ds.root.name} | {len(data.split.labeled)} "
                   f"labeled, {len(data.split.unlabeled)} unlabeled, {len(data.split.val)} val "
                   f"cases | {len(data.labeled)} labeled samples | device {trainer.device}, amp "
                   f"{trainer.amp}, data ready in {trainer.setup_seconds:.1f}s")
    sums: dict[str, torch.Tensor | float] = {}
    n_logged, t_log, step_times = 0, time.perf_counter(), []
    nonfinite = torch.zeros((), dtype=torch.bool, device=trainer.device)
    for step in range(start, total):
        out, lr = trainer.step(step)
        nonfinite |= ~torch.isfinite(out.loss.detach())
        for k, v in {"loss": out.loss.detach(), **out.logs}.items():
            sums[k] = sums.get(k, 0.0) + v
        n_logged += 1
        logger.advance()
        done = step + 1
        is_last = done == total
        if not (done % t_cfg.log_every == 0 or done % t_cfg.val_every == 0
                or done % t_cfg.checkpoint_every == 0 or is_last):
            continue
        if bool(nonfinite):  # the only host sync: before anything is logged or saved
            raise NonFiniteLossError(
                f"loss became NaN/inf between steps {done - n_logged + 1} and {done}; the last "
                f"good checkpoint is {ckpt_dir / 'last.pt'} (try a lower optim.lr or "
                "train.amp=off)")
        if done % t_cfg.log_every == 0 or is_last:
            elapsed = time.perf_counter() - t_log
            step_times.append(elapsed / n_logged)
            scalars = {k: float(v) / n_logged for k, v in sums.items()}
            scalars.update(lr=lr, it_per_s=n_logged / elapsed)
            logger.train(done, scalars)
            sums, n_logged, t_log = {}, 0, time.perf_counter()
        if done % t_cfg.val_every == 0 or is_last:
            t_val = time.perf_counter()
            scores = validation_scores(trainer.method.predictor(), data.val_cases, ds.class_names,
                                       config, trainer.device, trainer.amp)
            scores["seconds"] = time.perf_counter() - t_val
            logger.val(done, scores)
            if scores["dice_mean"] > best["dice_mean"]:
                best = {"dice_mean": scores["dice_mean"], "step": done}
                save_checkpoint(trainer.state_dict(done, best), ckpt_dir / "best.pt")
            t_log += time.perf_counter() - t_val  # validation time is not training speed
        if done % t_cfg.checkpoint_every == 0 or is_last:
            t_ckpt = time.perf_counter()
            save_checkpoint(trainer.state_dict(done, best), ckpt_dir / "last.pt")
            t_log += time.perf_counter() - t_ckpt  # nor is checkpointing
    logger.close()
    wall = time.perf_counter() - t_start
    return finish_run(config, run_dir, data, trainer.device, trainer.amp, wall, step_times)


def finish_run(config: RunConfig, run_dir: Path, data: RunData, device: torch.device,
               amp: torch.dtype | None, wall: float, step_times: list[float]) -> dict[str, Any]:
    """Evaluate ``best.pt`` on the val cases with all metrics; write eval/ and result.json."""
    from semiseg.visualize import save_overview

    ds = data.dataset
    state = load_checkpoint(run_dir / "checkpoints" / "best.pt")
    method = create_method(config.method.name, config.method.params,
                           net_spec(config, ds)).to(device)
    method.load_state_dict(state["method"])
    eval_dir = run_dir / "eval"
    pred_dir = eval_dir / "predictions" if config.eval.save_predictions else None
    rows, summary, preds = evaluate_network(method.predictor(), data.val_cases, ds.class_names,
                                            config, device, amp, pred_dir, ds.file_ending)
    write_rows_csv(rows, eval_dir / "val_metrics.csv")
    write_json(summary, eval_dir / "val_summary.json")
    per_case = [float(sum(r["dice"] for r in rows if r["case"] == c.case_id)
                      / max(1, ds.num_classes - 1)) for c in data.val_cases]
    picture = save_overview(data.val_cases, preds, per_case, ds.class_names,
                            config.data.slice_axis, eval_dir / "overview.png")
    median_step = sorted(step_times)[len(step_times) // 2] if step_times else math.nan
    result = {
        "method": config.method.name, "data": str(ds.root), "seed": config.train.seed,
        "labeled_cases": len(data.split.labeled), "iterations": config.train.iterations,
        "best_step": int(state["best"]["step"]),
        "val_dice_at_selection": state["best"]["dice_mean"],
        "val": summary["mean"], "val_per_class": summary["per_class"],
        "distance_units": rows[0]["units"] if rows else "voxel",
        "wall_seconds": wall, "median_seconds_per_iteration": median_step,
        "device": str(device), "amp": str(amp), "provenance": provenance(),
        "paths": {"run": str(run_dir), "metrics": str(eval_dir / "val_metrics.csv"),
                  "summary": str(eval_dir / "val_summary.json"),
                  "predictions": str(pred_dir) if pred_dir else None, "picture": str(picture)},
        "table": format_summary(summary),
    }
    write_json(result, run_dir / "result.json")
    return result
