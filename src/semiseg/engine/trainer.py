"""Everything one training step needs, built once, and the step itself.

:func:`build_trainer` seeds, picks device and precision, joins the process group when
launched by torchrun, loads the data and builds method, optimizer and RNGs;
:meth:`Trainer.step` is the only training step of the toolkit (the loop and the speed
benchmark both call it).
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from semiseg.augment import weak_augment
from semiseg.config import RunConfig, to_dict
from semiseg.data.nnunet import NnUNetDataset
from semiseg.data.splits import Split
from semiseg.engine.checkpoint import init_from_checkpoint
from semiseg.engine.data import RunData, prepare_data
from semiseg.engine.distributed import DistInfo, init_distributed, local_device, shard
from semiseg.engine.optim import build_optimizer, lr_factor, set_lr
from semiseg.engine.runtime import (
    configure_threads,
    cpu_has_native_bf16,
    resolve_amp,
    resolve_channels_last,
    resolve_device,
    seed_everything,
    to_channels_last,
)
from semiseg.errors import ConfigError, SemisegError
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
from semiseg.nets import NETWORKS
from semiseg.precision import PRECISION_NAMES
from semiseg.version import provenance


@dataclass
class Phase:
    """A method phase covering global steps ``[start, start + steps)``."""

    name: str
    start: int
    steps: int


def method_phases(method: SemiSupervisedMethod, total: int) -> list[Phase]:
    """The method's phases laid out over ``total`` steps (checked to cover them exactly)."""
    lengths = method.phase_steps(method.config, total)
    if list(lengths) != list(method.phases) or sum(lengths.values()) != total:
        raise SemisegError(f"method {method.name}: phase_steps {lengths} do not cover "
                           f"{total} steps over phases {method.phases}")
    out, start = [], 0
    for name, steps in lengths.items():
        out.append(Phase(name, start, steps))
        start += steps
    return out


def net_spec(config: RunConfig, dataset: NnUNetDataset) -> NetSpec:
    """The network description of a run: model config + the data set's channels/classes.

    ``model.channels``/``model.dropout`` go to networks that take them; ``model.params``
    must name parameters of the network.
    """
    model = config.model
    accepted = inspect.signature(NETWORKS.get(model.name).__init__).parameters
    kwargs = {k: v for k, v in (("channels", model.channels), ("dropout", model.dropout))
              if k in accepted}
    for key in model.params:
        if key not in accepted or key in ("spatial_dims", "in_channels", "num_classes"):
            valid = ", ".join(k for k in accepted if k not in (
                "self", "spatial_dims", "in_channels", "num_classes"))
            raise ConfigError(f"config key 'model.params.{key}': not a parameter of network "
                              f"{model.name} (valid: {valid})")
    kwargs.update(model.params)
    rule = getattr(NETWORKS.get(model.name), "input_size_problem", None)  # a user's own net
    problem = rule and rule(config.data.patch_size,  # may not state one
                            **{k: v for k, v in kwargs.items() if k == "channels"})
    if problem:
        raise ConfigError(f"config key 'data.patch_size': {config.data.patch_size} does not fit "
                          f"network {model.name}: {problem}")
    return NetSpec(model.name, config.data.spatial_dims, dataset.num_channels,
                   dataset.num_classes, kwargs)


def method_from_checkpoint(config: RunConfig, dataset: NnUNetDataset, state: dict[str, Any],
                           device: torch.device) -> SemiSupervisedMethod:
    """The run's method on ``device`` with the weights of a loaded checkpoint ``state``."""
    method = create_method(config.method.name, config.method.params,
                           net_spec(config, dataset)).to(device)
    method.load_state_dict(state["method"])
    use_channels_last(method, config, device)
    return method


def use_channels_last(method: SemiSupervisedMethod, config: RunConfig,
                      device: torch.device) -> bool:
    """Put ``method``'s weights in channels-last layout if ``train.channels_last`` asks.

    See :func:`resolve_channels_last`; returns whether it did.
    """
    on = resolve_channels_last(config.train.channels_last, config.data.spatial_dims, device)
    if on:
        to_channels_last(method)
    return on


def make_batch(data: RunData, config: RunConfig, gens: dict[str, torch.Generator],
               device: torch.device, uses_unlabeled: bool, channels_last: bool,
               info: DistInfo, grouped: int = 0) -> SemiBatch:
    """Sample and weakly augment the global two-stream batch; keep this rank's shard.

    ``grouped`` > 0: the unlabeled stream is drawn as whole volumes x ``grouped`` slice
    partitions (:meth:`SliceBank.sample_grouped`), for contrastive methods.
    """
    cfg = config.data
    n_l = cfg.labeled_batch_size if uses_unlabeled else cfg.batch_size
    x_l, y_l, meta_l = data.labeled.sample(n_l, gens["sampler"])
    x_l, y_l = weak_augment(x_l.to(device, non_blocking=True), y_l.to(device, non_blocking=True),
                            config.augment, gens["augment"])
    part = shard(n_l, info, "labeled_batch_size")
    x_l, y_l = x_l[part], y_l[part]
    meta = {f"{k}_l": v[part] for k, v in meta_l.items()}
    if uses_unlabeled and data.unlabeled is not None:
        n_u = cfg.batch_size - n_l
        if grouped and hasattr(data.unlabeled, "sample_grouped"):  # contrastive batches
            scans = -(-n_u // grouped)  # whole volumes, the last one cut to the batch size
            x_u, _, meta_u = data.unlabeled.sample_grouped(scans, grouped, gens["sampler"])
            x_u, meta_u = x_u[:n_u], {k: v[:n_u] for k, v in meta_u.items()}
        else:
            x_u, _, meta_u = data.unlabeled.sample(n_u, gens["sampler"])
        x_u, _ = weak_augment(x_u.to(device, non_blocking=True), None, config.augment,
                              gens["augment"])
        part_u = shard(n_u, info, "batch_size")
        x_u = x_u[part_u]
        meta.update({f"{k}_u": v[part_u] for k, v in meta_u.items()})
    else:
        x_u = x_l.new_zeros((0, *x_l.shape[1:]))
    if channels_last:
        fmt = torch.channels_last if x_l.ndim == 4 else torch.channels_last_3d
        x_l, x_u = x_l.contiguous(memory_format=fmt), x_u.contiguous(memory_format=fmt)
    return SemiBatch(x_l=x_l, y_l=y_l, x_u=x_u, meta=meta)


@dataclass
class Trainer:
    """Data, method, optimizer and RNGs of a run; :meth:`step` trains one step."""

    config: RunConfig
    data: RunData
    method: SemiSupervisedMethod
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    gens: dict[str, torch.Generator]
    device: torch.device
    amp: torch.dtype | None
    channels_last: bool
    phases: list[Phase]
    dist: DistInfo
    setup_seconds: float
    ddp: nn.Module | None = None
    notes: list[str] = field(default_factory=list)  # said once the run's start line is out
    _phase: Phase | None = field(default=None, repr=False)

    def step(self, step: int) -> tuple[StepOutput, float]:
        """One optimizer step at global index ``step``; returns the output and the lr."""
        current = next(p for p in self.phases if p.start <= step < p.start + p.steps)
        if self._phase is not current:
            self._phase = current
            self.method.on_phase_start(current.name)
        progress = Progress(step, self.config.train.iterations, current.name,
                            step - current.start, current.steps)
        lr = set_lr(self.optimizer, lr_factor(step - current.start, current.steps,
                                              self.config.optim))
        self.method.train()
        batch = make_batch(self.data, self.config, self.gens, self.device,
                           self.method.uses_unlabeled, self.channels_last, self.dist,
                           self.method.grouped_partitions())
        with autocast(self.device, self.amp):
            out = (self.ddp or self.method)(batch, progress)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(out.loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.method.on_after_optimizer_step(progress)
        return out, lr

    def keep_precision(self, saved: str | None) -> None:
        """Continue in the precision of the run's earlier sessions when ``train.amp`` is auto.

        ``auto`` resolves per machine (bf16 on CPUs with native bf16 and on CUDA, fp32 on
        other CPUs), so a run resumed on another machine would change precision mid-run,
        and its result would name only the last one. It keeps the first instead, and says
        so (bf16 without native support is emulated: 8-9x slower on an AVX2 CPU,
        BENCHMARKS.md). An explicit ``train.amp`` is the user's choice and is kept.

        Args:
            saved: ``str`` of the autocast dtype in the checkpoint (None: older checkpoint).

        Raises:
            ConfigError: The run trained in fp16, which needs CUDA, and this device is not.
        """
        dtypes = {str(d): d for d in (None, torch.bfloat16, torch.float16)}
        if self.config.train.amp != "auto" or saved not in dtypes or dtypes[saved] == self.amp:
            return
        wanted = dtypes[saved]
        if wanted == torch.float16 and self.device.type != "cuda":
            raise ConfigError(f"config key 'train.amp': auto trained this run in fp16 on CUDA; "
                              f"it cannot continue in fp16 on {self.device}: resume it on a GPU")
        emulated = (wanted == torch.bfloat16 and self.device.type == "cpu"
                    and not cpu_has_native_bf16())
        self.notes.append(f"train.amp auto: continuing in {PRECISION_NAMES[saved]}, the precision "
                          f"of the run's earlier sessions, not {PRECISION_NAMES[str(self.amp)]} "
                          "(auto's choice here)"
                          + ("; this CPU has no native bf16, so steps are several times slower"
                             if emulated else ""))
        self.amp = wanted
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=wanted == torch.float16)

    def _rng_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {f"gen_{k}": g.get_state() for k, g in self.gens.items()}
        local = {"cpu": torch.get_rng_state()}
        if self.device.type == "cuda":
            local["cuda"] = torch.cuda.get_rng_state(self.device)
        if self.dist.enabled:  # dropout and noise differ per rank: keep every rank's state
            gathered: list[Any] = [None] * self.dist.world_size
            dist.all_gather_object(gathered, local)
            state["per_rank"] = gathered
        else:
            state["per_rank"] = [local]
        return state

    def _load_rng_state(self, state: dict[str, Any]) -> None:
        for k, g in self.gens.items():
            g.set_state(state[f"gen_{k}"])
        per_rank = state["per_rank"]
        if len(per_rank) != self.dist.world_size:
            raise SemisegError(f"checkpoint was written by {len(per_rank)} processes, this run "
                               f"has {self.dist.world_size}; resume with the same count")
        local = per_rank[self.dist.rank]
        torch.set_rng_state(local["cpu"])
        if "cuda" in local and self.device.type == "cuda":
            torch.cuda.set_rng_state(local["cuda"], self.device)

    def state_dict(self, step: int, best: dict[str, Any]) -> dict[str, Any]:
        """Everything needed to resume after ``step`` steps exactly (collective under DDP)."""
        state = {"method": self.method.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "scaler": self.scaler.state_dict(), "rng": self._rng_state(),
                 "bank_labeled": self.data.labeled.state_dict(), "step": step, "best": best,
                 "config": to_dict(self.config), "provenance": provenance(),
                 "amp": str(self.amp)}
        if self.data.unlabeled is not None:
            state["bank_unlabeled"] = self.data.unlabeled.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Restore :meth:`state_dict`; returns ``(step, best)``."""
        self.method.load_state_dict(state["method"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.keep_precision(state.get("amp"))
        self.scaler.load_state_dict(state["scaler"])
        self._load_rng_state(state["rng"])
        self.data.labeled.load_state_dict(state["bank_labeled"])
        if self.data.unlabeled is not None:
            self.data.unlabeled.load_state_dict(state["bank_unlabeled"])
        return int(state["step"]), dict(state["best"])


def build_trainer(config: RunConfig, split: Split | None = None) -> Trainer:
    """Seed, pick device and precision, join DDP, load the data, build method and optimizer."""
    t_cfg = config.train
    t_start = time.perf_counter()
    info = init_distributed(resolve_device(t_cfg.device))
    device = local_device(resolve_device(t_cfg.device), info)
    seed_everything(t_cfg.seed)
    configure_threads(t_cfg.num_threads)
    amp = resolve_amp(t_cfg.amp, device)
    method_cls = METHODS.get(config.method.name)
    data = prepare_data(config, device, method_cls.uses_unlabeled, split)
    method = create_method(config.method.name, config.method.params,
                           net_spec(config, data.dataset))
    if t_cfg.init_from:  # a resume loads its own checkpoint over this afterwards
        init_from_checkpoint(method, t_cfg.init_from)
    method = method.to(device)
    channels_last = use_channels_last(method, config, device)
    optimizer = build_optimizer(method.optimizer_groups(), config.optim, method.lr_scales())
    scaler = torch.amp.GradScaler(device.type, enabled=amp == torch.float16)
    gens = {"sampler": torch.Generator().manual_seed(t_cfg.seed + 1),
            "augment": torch.Generator(device=device).manual_seed(t_cfg.seed + 2)}
    torch.manual_seed(t_cfg.seed + 7919 * info.rank)  # per-rank dropout and noise
    if t_cfg.compile:  # the networks; a method itself is called through training_step
        for net in method.children():
            net.compile()
    ddp = None
    if info.enabled:
        ddp = nn.parallel.DistributedDataParallel(
            method, device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=method.find_unused_parameters)
    return Trainer(config, data, method, optimizer, scaler, gens, device, amp, channels_last,
                   method_phases(method, t_cfg.iterations), info,
                   time.perf_counter() - t_start, ddp)
