"""Typed run configuration: dataclasses are the only home of defaults.

A YAML file holds only the values that differ from these defaults. Unknown keys are
errors that list the valid ones; values are checked against the field's type.
``--set a.b=c`` overrides are parsed as YAML scalars (``--set train.iterations=100``).
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from semiseg.config_yaml import merge, parse_overrides, read_yaml_chain
from semiseg.errors import ConfigError
from semiseg.postprocess import POSTPROCESS_MODES


@dataclass
class DataConfig:
    """Where the data is and how training samples are drawn from it.

    Attributes:
        root: nnU-Net raw data set folder (``dataset.json``, ``imagesTr``, ``labelsTr``).
        split: Split file: either semiseg's own (``labeled``/``unlabeled``/``val``) or a
            data set's ``splits.json`` (``train``/``val``/``labeled_patients_order``).
            Empty: the data set's ``splits.json`` if it has one, else a seeded split.
        num_labeled: Labeled patients (or cases, when cases have no patient grouping).
        labeled_percent: If > 0, the labeled budget as a percentage of training patients
            (``round(p / 100 * n)``), overriding ``num_labeled``.
        val_fraction: Share of patients held out for validation by a generated split
            (not used by cross-validation, where it is one fold's share).
        folds: K >= 2: K-fold cross-validation by patient. The training patients (of a
            split file: its train and val patients; its test patients stay out) are
            shuffled with the run's seed and dealt into K folds; fold ``fold`` is the val
            set, the labeled patients come from the others (the split file's labeled
            order where it has one), the rest is unlabeled. The K runs of one seed
            validate every patient exactly once. 0: one split, no folds.
        fold: Which fold is the val set, ``0 <= fold < folds``.
        group_by: Regex whose first group is the patient id of a case id (cases of one
            patient never straddle labeled / unlabeled / val). Empty: derived from the
            split file's patient order when it has one, else every case is its own patient.
        spatial_dims: 2 trains a 2D network on slices (of 3D volumes or 2D images),
            3 a 3D network on patches.
        slice_axis: Spatial axis of a 3D volume that indexes the 2D slices.
        patch_size: Training input size: the slice size in 2D (slices are resized to it),
            the patch size in 3D.
        batch_size: Samples per step, labeled and unlabeled together.
        labeled_batch_size: Labeled samples per step (methods without an unlabeled term
            take all ``batch_size`` samples from the labeled set).
        normalize: Per-case intensity normalisation: "none", "zscore" or "minmax".
        foreground_oversample: 3D only: probability that a labeled patch is centred on
            a foreground voxel.
        cache: Where the training samples live: "auto" (the device when it fits), "device"
            or "cpu".
        scale: 3D only: volumes are resampled by this factor for training and inference
            (0.5 = half resolution, to fit a CPU budget); predictions are resampled back
            and scored on the native grid.
        target_spacing: 3D only: the voxel size (mm per array axis) every volume is
            resampled to for training and inference, as nnU-Net does, so that a structure
            has one size in voxels whatever scanner or protocol acquired it; ``median``
            takes the per-axis median over the training scans (the run's ``config.yaml``
            records the numbers). Predictions are resampled back and scored on each
            case's native grid. Empty: the native grid (or ``scale``).
        phase_patterns: Regexes over case ids naming acquisition phases in order (e.g.
            ``["_frame01$", "_frame02$"]`` for ACDC's ED and ES), for phase meta-labels.
        case_table: CSV of per-case numbers (relative to ``root`` or absolute) with a
            ``case`` column: ``pixel_size_mm`` gives files without spacing (PNG) their pixel
            size; reference measures (``head_circumference_mm``) are scored at evaluation.
    """

    root: str = ""
    split: str = ""
    num_labeled: int = 7
    labeled_percent: float = 0.0
    val_fraction: float = 0.2
    folds: int = 0
    fold: int = 0
    group_by: str = ""
    spatial_dims: int = 2
    slice_axis: int = -1
    patch_size: list[int] = field(default_factory=lambda: [256, 256])
    batch_size: int = 24
    labeled_batch_size: int = 12
    normalize: str = "zscore"
    foreground_oversample: float = 0.33
    cache: str = "auto"
    case_table: str = ""
    phase_patterns: list[str] = field(default_factory=list)
    scale: float = 1.0
    target_spacing: list[float] | str = field(default_factory=list)


@dataclass
class AugmentConfig:
    """Batched, device-side weak augmentation applied to every training batch.

    The defaults are SSL4MIS's ``RandomGenerator``: with probability 0.5 a random rot90
    and flip, otherwise with probability 0.5 a rotation in (-20, 20) degrees.
    """

    rot_flip_p: float = 0.5
    rotate_p: float = 0.5
    rotate_degrees: float = 20.0
    scale_p: float = 0.0
    scale_range: list[float] = field(default_factory=lambda: [0.85, 1.25])
    intensity_p: float = 0.0
    noise_std: float = 0.0


@dataclass
class ModelConfig:
    """Segmentation network (``semiseg.nets``); channels and classes come from the data.

    Attributes:
        name: Registered network (``unet``, ``resunet``, ``efficientunet``).
        channels: Widths per level, for the networks that take them.
        dropout: Encoder dropout per level, for the networks that take it.
        params: Further keyword arguments of the network (e.g. ``freeze_encoder_stages``
            of ``efficientunet``); unknown ones are errors.
    """

    name: str = "unet"
    channels: list[int] = field(default_factory=lambda: [16, 32, 64, 128, 256])
    dropout: list[float] = field(default_factory=lambda: [0.05, 0.1, 0.2, 0.3, 0.5])
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class MethodConfig:
    """Which method, and the hyper-parameters that differ from its own ``Config`` defaults."""

    name: str = "mean_teacher"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class OptimConfig:
    """Optimizer and learning-rate schedule (SSL4MIS: SGD 0.01, momentum 0.9, poly 0.9)."""

    name: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    schedule: str = "poly"
    poly_power: float = 0.9
    warmup_steps: int = 0


@dataclass
class TrainConfig:
    """The loop: length, device, precision, logging and checkpointing.

    Attributes:
        iterations: Optimizer steps over all phases.
        seed: Every RNG of the run derives from it.
        device: "auto" (CUDA when present), "cpu", "cuda" or "cuda:N".
        amp: "auto" (bf16 on CPUs with native bf16 and on CUDA), "off", "bf16", "fp16".
        channels_last: "auto" (on for 2D, and for 3D on CPU), "on" or "off".
        num_threads: CPU threads for torch; 0 keeps torch's choice.
        val_every: Validate on the val cases every this many steps (and at the end).
        log_every: Write a training log row every this many steps.
        checkpoint_every: Write the resumable ``last.pt`` every this many steps.
        compile: Wrap the networks with ``torch.compile``.
        progress_bar: Show a progress bar (off in tests and non-interactive logs).
        init_from: Checkpoint whose network initialises the method's networks of the same
            architecture (e.g. a ``spcl_pretrain`` run's ``checkpoints/last.pt``).
    """

    iterations: int = 30000
    seed: int = 0
    device: str = "auto"
    amp: str = "auto"
    channels_last: str = "auto"
    num_threads: int = 0
    val_every: int = 200
    log_every: int = 20
    checkpoint_every: int = 500
    compile: bool = False
    progress_bar: bool = True
    init_from: str = ""


@dataclass
class EvalConfig:
    """Evaluation: metrics, units and the policy for empty masks.

    Attributes:
        use_spacing: Distances in mm when the image carries a spacing; else voxels.
        empty_distance: HD95/ASD when exactly one of prediction and truth is empty:
            "diagonal" (the image diagonal, the worst possible distance) or "nan"
            (left out of means). Both empty: Dice 1, Jaccard 1, HD95 0, ASD 0. The same
            policy covers a head circumference of an empty prediction ("diagonal": 0 mm,
            the error is the whole reference).
        inference_batch: Slices (2D) or windows (3D) per forward pass.
        sw_overlap: Overlap of 3D sliding windows.
        tta: Test-time mirroring (mean over flips, see
            :func:`semiseg.inference.predict_probabilities`) in the final evaluation, ``semiseg
            evaluate`` and ``semiseg predict``; never in the validation that selects the
            checkpoint (4-8 times the cost). Off: the papers' protocols do not mirror.
        postprocess: Connected-component clean-up of the final predictions, where
            ``tta`` applies (see :mod:`semiseg.postprocess`): "none",
            "largest_foreground" or "largest_per_class". Off by default: the papers'
            protocols score raw predictions.
        save_predictions: Write the val predictions of the best model at the end of training.
    """

    use_spacing: bool = True
    empty_distance: str = "diagonal"
    inference_batch: int = 32
    sw_overlap: float = 0.5
    tta: bool = False
    postprocess: str = "none"
    save_predictions: bool = True


@dataclass
class RunConfig:
    """The whole run; written into the run folder and every checkpoint."""

    name: str = "run"
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    method: MethodConfig = field(default_factory=MethodConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


_CHOICES: dict[str, tuple[str, ...]] = {
    "data.normalize": ("none", "zscore", "minmax"),
    "data.cache": ("auto", "device", "cpu"),
    "optim.name": ("sgd", "adamw", "adam", "radam"),
    "optim.schedule": ("poly", "cosine", "constant"),
    "train.amp": ("auto", "off", "bf16", "fp16"),
    "train.channels_last": ("auto", "on", "off"),
    "eval.empty_distance": ("diagonal", "nan"),
    "eval.postprocess": POSTPROCESS_MODES,
}


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against type ``tp`` (int -> float allowed) and return it."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _coerce(value, arg, key)
            except ConfigError:
                continue
        raise ConfigError(f"config key {key!r}: {value!r} is not a {tp}")
    if origin is list:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"config key {key!r}: expected a list, got {value!r}")
        (item_tp,) = typing.get_args(tp)
        return [_coerce(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"config key {key!r}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is type(None):
        if value is not None:
            raise ConfigError(f"config key {key!r}: expected null, got {value!r}")
        return None
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is bool and not isinstance(value, bool):
        raise ConfigError(f"config key {key!r}: expected true/false, got {value!r}")
    if tp is int and isinstance(value, bool):
        raise ConfigError(f"config key {key!r}: expected an integer, got {value!r}")
    if isinstance(tp, type) and not isinstance(value, tp):
        raise ConfigError(f"config key {key!r}: expected {tp.__name__}, got {value!r}")
    return value


def from_dict(cls: type, data: dict[str, Any], prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a nested mapping, rejecting unknown keys.

    Args:
        cls: A dataclass type.
        data: Values that differ from the defaults (nested mappings for nested dataclasses).
        prefix: Dotted path of ``cls`` inside the run config, for error messages.

    Raises:
        ConfigError: Unknown key (the message lists the valid ones) or wrongly typed value.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"config section {prefix or '<root>'!r} must be a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key not in fields:
            raise ConfigError(f"unknown config key {dotted!r}; valid: {', '.join(fields)}")
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            kwargs[key] = from_dict(tp, value or {}, f"{dotted}.")
        else:
            choices = _CHOICES.get(dotted)
            if choices and value not in choices:  # before the type: `amp: false` names them
                raise ConfigError(f"config key {dotted!r}: {value!r} is not one of {choices}")
            kwargs[key] = _coerce(value, tp, dotted)
    return cls(**kwargs)


def to_dict(config: Any) -> dict[str, Any]:
    """The config as plain nested dicts (for YAML, JSON and checkpoints)."""
    return dataclasses.asdict(config)


def load_config(
    paths: list[str | Path] | str | Path | None = None,
    overrides: list[str] | None = None,
) -> RunConfig:
    """Load a run config: defaults, the method's run defaults, YAML files, ``--set``.

    Later layers win: the dataclass defaults, then the chosen method's ``run_defaults``
    (its paper's optimizer, say), then the YAML files in order (``base:`` chains), then
    the ``KEY=VALUE`` overrides.

    A YAML file may name ``base: other.yaml`` (relative to itself) to start from.

    Args:
        paths: YAML files, later ones win.
        overrides: ``KEY=VALUE`` strings, applied last.

    Returns:
        The validated config, including the method's own hyper-parameters.
    """
    if paths is None:
        paths = []
    elif isinstance(paths, str | Path):
        paths = [paths]
    tree: dict[str, Any] = {}
    for path in paths:
        tree = merge(tree, read_yaml_chain(Path(path)))
    tree = merge(tree, parse_overrides(overrides or []))
    tree = merge(_method_run_defaults(tree), tree)
    config = from_dict(RunConfig, tree)
    validate(config)
    return config


def _method_run_defaults(tree: dict[str, Any]) -> dict[str, Any]:
    """The chosen method's own run defaults (paper values), which the files then override."""
    from semiseg.methods import method_run_defaults  # late import: methods import this module

    method = tree.get("method")
    name = method.get("name", MethodConfig.name) if isinstance(method, dict) else MethodConfig.name
    return method_run_defaults(name)


def _validate_target_spacing(d: DataConfig) -> None:
    key = "config key 'data.target_spacing'"
    target = d.target_spacing
    if target in ([], ""):
        return
    if isinstance(target, str) and target != "median":
        raise ConfigError(f"{key}: {target!r} is not 'median' or a list of voxel sizes in mm")
    if d.spatial_dims != 3:
        raise ConfigError(f"{key}: resampling to a voxel size is for 3D networks "
                          "(2D slices are resized to data.patch_size)")
    if isinstance(target, list) and (len(target) != 3 or min(target) <= 0):
        raise ConfigError(f"{key}: {target} must be 3 voxel sizes > 0 (mm, one per axis)")
    if d.scale != 1.0:
        raise ConfigError(f"{key}: set either it or data.scale ({d.scale}), not both")


def validate(config: RunConfig) -> None:
    """Value checks that types alone cannot express; also resolves the method params.

    Raises:
        ConfigError: naming the key and what was expected.
    """
    d, t, o = config.data, config.train, config.optim
    if d.spatial_dims not in (2, 3):
        raise ConfigError(f"config key 'data.spatial_dims': {d.spatial_dims} is not 2 or 3")
    if not -3 <= d.slice_axis <= 2:
        raise ConfigError(f"config key 'data.slice_axis': {d.slice_axis} is not an axis of a "
                          "3D volume (-3 to 2)")
    if len(d.patch_size) != d.spatial_dims or any(s < 8 for s in d.patch_size):
        raise ConfigError(
            f"config key 'data.patch_size': {d.patch_size} must have {d.spatial_dims} sizes >= 8"
        )
    for pattern in d.phase_patterns:
        try:
            re.compile(pattern)
        except re.error as e:
            raise ConfigError(f"config key 'data.phase_patterns': {pattern!r} is not a "
                              f"regular expression ({e})") from None
    if not 0 < d.scale <= 4:
        raise ConfigError(f"config key 'data.scale': {d.scale} must be in (0, 4]")
    _validate_target_spacing(d)
    if d.batch_size < 1 or not 1 <= d.labeled_batch_size <= d.batch_size:
        raise ConfigError(
            "config keys 'data.batch_size'/'data.labeled_batch_size': need "
            f"1 <= labeled_batch_size <= batch_size, got {d.labeled_batch_size}/{d.batch_size}"
        )
    if d.num_labeled < 1 and d.labeled_percent <= 0:
        raise ConfigError("config key 'data.num_labeled': must be >= 1 (or set labeled_percent)")
    if not 0 <= d.labeled_percent <= 100:
        raise ConfigError(f"config key 'data.labeled_percent': {d.labeled_percent} not in [0, 100]")
    if not 0 < d.val_fraction < 1:
        raise ConfigError(f"config key 'data.val_fraction': {d.val_fraction} not in (0, 1)")
    if d.folds < 0 or d.folds == 1:
        raise ConfigError(f"config key 'data.folds': {d.folds} must be 0 (no folds) or >= 2")
    if not 0 <= d.fold < max(d.folds, 1):
        raise ConfigError(f"config key 'data.fold': {d.fold} not in [0, {max(d.folds, 1)})"
                          + ("" if d.folds else " (data.folds is 0: no cross-validation)"))
    for key, value in (("train.iterations", t.iterations), ("train.val_every", t.val_every),
                       ("train.log_every", t.log_every),
                       ("train.checkpoint_every", t.checkpoint_every)):
        if value < 1:
            raise ConfigError(f"config key {key!r}: {value} must be >= 1")
    if o.lr <= 0:
        raise ConfigError(f"config key 'optim.lr': {o.lr} must be > 0")
    if len(config.model.dropout) != len(config.model.channels):
        raise ConfigError("config key 'model.dropout': needs one value per entry of model.channels")
    if not (t.device in ("auto", "cpu", "cuda") or t.device.startswith("cuda:")):
        raise ConfigError(f"config key 'train.device': {t.device!r} is not auto, cpu, cuda[:N]")
    from semiseg.methods import METHODS, method_config  # late: methods import this module

    method_config(config.method.name, config.method.params)
    if METHODS.get(config.method.name).uses_unlabeled and d.labeled_batch_size >= d.batch_size:
        raise ConfigError(
            f"config key 'data.labeled_batch_size': {d.labeled_batch_size} leaves no room for "
            f"unlabeled samples in data.batch_size {d.batch_size}, which method "
            f"'{config.method.name}' needs (labeled_batch_size must be < batch_size)")
