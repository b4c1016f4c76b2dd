"""Exponential moving average of weights (Mean Teacher, Tarvainen & Valpola 2017)."""

from __future__ import annotations

import torch
from torch import nn


def mean_teacher_decay(step: int, max_decay: float) -> float:
    """SSL4MIS's decay ``min(1 - 1 / (step + 1), max_decay)`` (fast start, then ``max_decay``)."""
    return min(1.0 - 1.0 / (step + 1), max_decay)


@torch.no_grad()
def ema_update(teacher: nn.Module, student: nn.Module, decay: float,
               include_buffers: bool = False) -> None:
    """``teacher = decay * teacher + (1 - decay) * student`` over the parameters.

    Args:
        teacher: Updated in place.
        student: Source weights.
        decay: In [0, 1]; 0 copies the student.
        include_buffers: Also average floating-point buffers (BatchNorm statistics) and
            copy integer ones. SSL4MIS does not: its teacher runs in train mode and keeps
            the statistics of its own forward passes.
    """
    torch._foreach_lerp_(list(teacher.parameters()), list(student.parameters()), 1.0 - decay)
    if include_buffers:
        for t_buf, s_buf in zip(teacher.buffers(), student.buffers(), strict=True):
            if t_buf.dtype.is_floating_point:
                t_buf.lerp_(s_buf, 1.0 - decay)
            else:
                t_buf.copy_(s_buf)
