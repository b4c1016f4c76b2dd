"""Value ranges of the methods' hyper-parameters, by name, checked when a run is configured.

The methods share a vocabulary (``ema_decay``, ``rampup_fraction``, ``consistency``,
``grid``...), so one table states the ranges for all of them instead of a check in every
method: a probability, fraction or decay lies in [0, 1]; a temperature or learning-rate
scale is > 0; every other float (weights, sharpening, schedules' end points) is >= 0 and
finite; an integer (grid cells, passes, projection widths) is >= 1 unless listed as
allowed to be 0. A parameter that needs another rule is added here, with a test.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from semiseg.errors import ConfigError

UNIT_INTERVAL = frozenset({
    "abd_i_p", "abd_i_until", "box_fraction", "confidence", "cutmix_p", "ema_decay",
    "feature_dropout", "kl_rampup_fraction", "mask_ratio", "memory_decay", "min_score",
    "pretrain_fraction", "qc_threshold", "rampup_fraction", "reliability_decay",
    "score_decay", "size_end", "size_start", "supervised_fraction", "threshold_end",
    "threshold_start", "warmup_fraction",
})
POSITIVE = frozenset({"temperature", "contrast_temperature", "lr_scale_2d"})
ZERO_ALLOWED_INTS = frozenset({"freeze_encoder_stages"})


def range_problem(name: str, value: Any) -> str | None:
    """Why ``value`` is out of range for parameter ``name`` (None when it is fine)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int):
        low = 0 if name in ZERO_ALLOWED_INTS else 1
        return f"{value} must be >= {low}" if value < low else None
    if not math.isfinite(value):
        return f"{value} is not a finite number"
    if name in UNIT_INTERVAL and not 0.0 <= value <= 1.0:
        return f"{value} must be in [0, 1]"
    if name in POSITIVE and value <= 0:
        return f"{value} must be > 0"
    if value < 0:
        return f"{value} must be >= 0"
    return None


def check_ranges(config: Any) -> None:
    """Raise on the first out-of-range field of a method's ``Config`` dataclass.

    Raises:
        ConfigError: naming ``method.params.<name>`` and the allowed range.
    """
    for f in dataclasses.fields(config):
        problem = range_problem(f.name, getattr(config, f.name))
        if problem:
            raise ConfigError(f"config key 'method.params.{f.name}': {problem}")
