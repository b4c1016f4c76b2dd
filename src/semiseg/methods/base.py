"""The interface every method implements; the engine owns everything else.

A method owns its networks and its loss: the engine builds the batch (on the device,
weakly augmented), runs autocast, backward, the optimizer, schedules, validation,
checkpoints and logging.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from torch import Tensor, nn

from semiseg.errors import ConfigError
from semiseg.nets import create_network


@dataclass
class SemiBatch:
    """One training batch, built by the engine on the training device.

    Attributes:
        x_l: ``[B_l, C, *S]`` float labeled images.
        y_l: ``[B_l, *S]`` int64 labels.
        x_u: ``[B_u, C, *S]`` float unlabeled images (``B_u`` may be 0).
        meta: ``case_index_l/u`` (``[B]`` int64), ``slice_position_l/u`` (2D), ...
    """

    x_l: Tensor
    y_l: Tensor
    x_u: Tensor
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class StepOutput:
    """What ``training_step`` returns: the loss to minimise and scalars to log."""

    loss: Tensor
    logs: dict[str, float] = field(default_factory=dict)


@dataclass
class Progress:
    """Where training stands; ``step`` counts optimizer steps from 0 over all phases."""

    step: int
    total_steps: int
    phase: str = "train"
    phase_step: int = 0
    phase_steps: int = 0

    @property
    def fraction(self) -> float:
        """Share of all steps done, in [0, 1)."""
        return self.step / max(self.total_steps, 1)


@dataclass
class NetSpec:
    """How to build the run's network: from the model config plus the data's facts."""

    name: str
    spatial_dims: int
    in_channels: int
    num_classes: int
    kwargs: dict[str, Any] = field(default_factory=dict)

    def build(self, name: str | None = None, **overrides: Any) -> nn.Module:
        """A fresh network (``name`` overrides the configured one, e.g. for co-training)."""
        try:
            return self._create(name, **overrides)
        except (TypeError, ValueError) as e:  # widths or parameters the network cannot take
            raise ConfigError(f"config key 'model' (network {name or self.name}): {e}") from None

    def _create(self, name: str | None, **overrides: Any) -> nn.Module:
        kwargs = {} if name and name != self.name else dict(self.kwargs)
        kwargs.update(overrides)
        return create_network(name or self.name, self.spatial_dims, self.in_channels,
                              self.num_classes, **kwargs)

    def build_partner(self, name: str, key: str) -> nn.Module:
        """A network of another architecture for co-training, with the run's widths.

        Args:
            name: Registered network name.
            key: The method parameter that named it (for the error message).

        Raises:
            ConfigError: unknown network, or one that cannot take these widths.
        """
        channels = self.kwargs.get("channels")
        try:
            return self._create(name, **({"channels": channels} if channels else {}))
        except (ConfigError, TypeError, ValueError) as e:
            raise ConfigError(f"method.params.{key}: {e}") from None


class SemiSupervisedMethod(nn.Module, ABC):
    """Base of all methods. Subclasses set ``name``, ``Config`` and ``training_step``.

    Attributes:
        name: Registry name.
        Config: Dataclass of the method's hyper-parameters (defaults = the paper's).
        phases: Training phases in order, e.g. ``("pretrain", "selftrain")``.
        uses_unlabeled: False for labeled-only methods: the engine then fills the whole
            batch with labeled samples and passes an empty ``x_u``.
        find_unused_parameters: True when some trainable parameters get no gradient in
            some steps (DDP must then look for them).
        supported_dims: Spatial dimensions the method works in (e.g. 2 only for a
            method built on 2D shape priors); others are a configuration error.
        run_defaults: The paper's values of run settings outside ``method.params``
            (e.g. ``{"optim": {"name": "adamw", "lr": 1e-4}}``), nested like a config
            file. They replace the toolkit's defaults for this method; any value a
            config file or ``--set`` gives still wins.
    """

    name: ClassVar[str]
    Config: ClassVar[type]
    phases: ClassVar[tuple[str, ...]] = ("train",)
    uses_unlabeled: ClassVar[bool] = True
    find_unused_parameters: ClassVar[bool] = False  # DDP: some networks idle in some steps
    supported_dims: ClassVar[tuple[int, ...]] = (2, 3)
    run_defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, config: Any, net: NetSpec) -> None:
        super().__init__()
        if net.spatial_dims not in self.supported_dims:
            dims = " or ".join(f"{d}D" for d in self.supported_dims)
            raise ConfigError(f"config key 'method.name': {self.name} works on {dims} data "
                              f"only, this run is {net.spatial_dims}D (data.spatial_dims)")
        self.config = config
        self.net_spec = net

    def forward(self, batch: SemiBatch, progress: Progress) -> StepOutput:
        """Same as :meth:`training_step`; lets DistributedDataParallel wrap a method."""
        return self.training_step(batch, progress)

    @abstractmethod
    def training_step(self, batch: SemiBatch, progress: Progress) -> StepOutput:
        """Loss of one batch (called inside the engine's autocast)."""

    @abstractmethod
    def predictor(self) -> nn.Module:
        """The network used for validation and inference (returns logits)."""

    def on_after_optimizer_step(self, progress: Progress) -> None:
        """Called after each optimizer step (EMA updates go here)."""

    def on_phase_start(self, phase: str) -> None:
        """Called when a phase begins (and again when a run resumes inside it)."""

    @classmethod
    def phase_steps(cls, config: Any, total_steps: int) -> dict[str, int]:
        """Steps per phase from the method's hyper-parameters alone (``config``, a ``Config``).

        A class method: a finished run's phase layout can be read back from its
        config.yaml without building networks. The default gives every step to the
        single phase.
        """
        return {cls.phases[0]: total_steps} if len(cls.phases) == 1 else {}

    def grouped_partitions(self) -> int:
        """Slice partitions K per volume of the unlabeled batch; 0: random sampling.

        K > 0 asks the engine for unlabeled batches of whole volumes x K slice
        partitions (contrastive methods need positives in every batch).
        """
        return 0

    def optimizer_groups(self) -> dict[str, Iterable[nn.Parameter]]:
        """Parameter groups the engine optimises; default: all trainable parameters."""
        return {"all": [p for p in self.parameters() if p.requires_grad]}

    def lr_scales(self) -> dict[str, float]:
        """Learning-rate multipliers per optimizer group (e.g. M&N's 2D model: x10)."""
        return {}

    def teachers(self) -> list[nn.Module]:
        """Modules that must never receive gradients (EMA teachers)."""
        return []


def freeze(module: nn.Module) -> nn.Module:
    """Detach a module from autograd (teachers); returns it."""
    for p in module.parameters():
        p.requires_grad_(False)
    return module
