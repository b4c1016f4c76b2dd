"""Optimizer and learning-rate schedule built from ``OptimConfig``."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

from semiseg.config import OptimConfig


def build_optimizer(groups: dict[str, Iterable[nn.Parameter]], cfg: OptimConfig,
                    lr_scale: dict[str, float] | None = None) -> torch.optim.Optimizer:
    """One optimizer over the method's named parameter groups.

    Args:
        groups: ``optimizer_groups()`` of the method.
        cfg: Optimizer settings.
        lr_scale: Per-group learning-rate multipliers (default 1).
    """
    lr_scale = lr_scale or {}
    param_groups = [{"params": list(params), "lr": cfg.lr * lr_scale.get(name, 1.0),
                     "name": name, "base_lr": cfg.lr * lr_scale.get(name, 1.0)}
                    for name, params in groups.items()]
    if cfg.name == "sgd":
        return torch.optim.SGD(param_groups, lr=cfg.lr, momentum=cfg.momentum,
                               weight_decay=cfg.weight_decay)
    opt_cls = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam,
               "radam": torch.optim.RAdam}[cfg.name]
    return opt_cls(param_groups, lr=cfg.lr, weight_decay=cfg.weight_decay)


def lr_factor(step: int, total: int, cfg: OptimConfig) -> float:
    """Multiplier of the base learning rate at ``step`` of ``total``.

    "poly" is SSL4MIS's ``(1 - step / total) ** 0.9``; "cosine" decays to 0; both after
    an optional linear warm-up of ``warmup_steps``.
    """
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    t = min(step / max(total, 1), 1.0)
    if cfg.schedule == "poly":
        return (1.0 - t) ** cfg.poly_power
    if cfg.schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * t))
    return 1.0


def set_lr(optimizer: torch.optim.Optimizer, factor: float) -> float:
    """Apply ``factor`` to every group's base learning rate; returns the first group's lr."""
    for group in optimizer.param_groups:
        group["lr"] = group["base_lr"] * factor
    return optimizer.param_groups[0]["lr"]
