"""Ramp-up schedules (Laine & Aila 2017, as used by Mean Teacher and SSL4MIS)."""

from __future__ import annotations

import math


def sigmoid_rampup(current: float, length: float) -> float:
    """``exp(-5 (1 - t)^2)`` with ``t = clip(current / length, 0, 1)``; 1 when length is 0."""
    if length <= 0:
        return 1.0
    t = min(max(current / length, 0.0), 1.0)
    return float(math.exp(-5.0 * (1.0 - t) ** 2))


def linear_rampup(current: float, length: float) -> float:
    """``clip(current / length, 0, 1)``; 1 when length is 0."""
    if length <= 0:
        return 1.0
    return min(max(current / length, 0.0), 1.0)


def ramped_weight(fraction: float, weight: float, rampup: float, warmup: float = 0.0) -> float:
    """``weight * sigmoid_rampup(fraction, rampup)``; 0 while ``fraction < warmup``.

    The SSL4MIS consistency weight with the run measured in fractions (``iter // 150``
    against 200 over 30 000 iterations is a ramp over the whole run).
    """
    if fraction < warmup:
        return 0.0
    return weight * sigmoid_rampup(fraction, rampup)
