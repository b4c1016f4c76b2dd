"""Checkpoints: written atomically, read with ``torch.load(weights_only=True)`` only.

A checkpoint holds tensors, numbers, strings, lists and dicts: the method's state, the
optimizer's, RNG states, sampler positions, the step, the best validation score and the
resolved config. Nothing is pickled beyond what ``weights_only`` accepts.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import torch

from semiseg.atomic import atomic_path
from semiseg.errors import SemisegError
from semiseg.nets.ensemble import SoftmaxAverage


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    """Write ``state`` to ``path`` via a temporary file and an atomic rename."""
    with atomic_path(path, sync=True) as tmp:
        torch.save(state, tmp)


def _load_tensors(path: Path, what: str, map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(weights_only=True)`` of ``path``; a one-line SemisegError naming it."""
    if not path.is_file():
        raise SemisegError(f"{path}: {what} does not exist")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; torch's own error
        # for anything else advises weights_only=False, which would not help and is unsafe
        raise SemisegError(f"{path}: cannot read {what} (not a PyTorch file: damaged, "
                           "truncated or of another format)")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises several types for truncated/foreign files
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        if msg.startswith("Weights only load failed"):
            msg = "it holds Python objects besides tensors, which are not loaded, for safety"
        raise SemisegError(f"{path}: cannot read {what} ({msg[:200]})") from None


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises:
        SemisegError: missing, truncated or not a semiseg checkpoint (one line).
    """
    state = _load_tensors(path, "checkpoint", map_location)
    if not isinstance(state, dict) or "method" not in state or "config" not in state:
        raise SemisegError(f"{path}: not a semiseg checkpoint")
    return state


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a weights file: a semiseg checkpoint's method state, or a plain state dict.

    Raises:
        SemisegError: missing or unreadable file, or one that holds no tensors.
    """
    path = Path(path)
    state = _load_tensors(path, "weights file")
    if isinstance(state, dict) and "method" in state and "config" in state:
        state = state["method"]  # a semiseg checkpoint
    if not isinstance(state, dict) or not any(isinstance(v, torch.Tensor)
                                              for v in state.values()):
        raise SemisegError(f"{path}: holds no state dict of tensors")
    return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}


def matching_weights(target: torch.nn.Module, source: dict[str, torch.Tensor],
                     path: str | Path) -> dict[str, torch.Tensor]:
    """The weights in ``source`` of a network shaped like ``target``, its head excepted.

    ``source`` may hold the network under any prefix (``nets.0.``, ``student.``, or none),
    beside other networks; the output convolution (``head.``) is left out because its
    classes may differ and pre-training leaves it untrained.

    Raises:
        SemisegError: no complete set of matching names and shapes.
    """
    wanted = {k: v for k, v in target.state_dict().items() if not k.startswith("head.")}
    if not wanted:
        raise SemisegError(f"{path}: this run's network has no weights to initialise")
    first = next(iter(wanted))
    prefixes = sorted({k[: -len(first)] for k in source if k.endswith(first)
                       and (k == first or k[: -len(first)].endswith("."))})
    for prefix in prefixes:
        if all(prefix + k in source and source[prefix + k].shape == v.shape
               for k, v in wanted.items()):
            return {k: source[prefix + k] for k in wanted}
    raise SemisegError(f"{path}: holds no {type(target).__name__} of this run's shape "
                       "(check model.channels and the data's channels/classes)")


def init_from_checkpoint(method: torch.nn.Module, path: str | Path) -> int:
    """Initialise a fresh method's networks from another run's checkpoint.

    The weights of the network in the checkpoint that has the architecture of this
    method's predictor (e.g. a ``spcl_pretrain`` run's UNet, or a Mean Teacher student)
    are loaded into every network of this method with that architecture (students,
    EMA teachers, co-trained networks), the output convolution excepted (its classes may
    differ, and pre-training leaves it untrained).

    Returns:
        The number of networks initialised.

    Raises:
        SemisegError: unreadable checkpoint, or no network of matching shapes in it.
    """
    path = Path(path)
    source = load_checkpoint(path)["method"]
    target = method.predictor()  # type: ignore[operator]
    if isinstance(target, SoftmaxAverage):  # its first member has the configured architecture
        target = target.members[0]
    weights = matching_weights(target, source, path)
    count = 0
    for module in method.modules():
        if type(module) is type(target):
            module.load_state_dict(weights, strict=False)
            count += 1
    return count
