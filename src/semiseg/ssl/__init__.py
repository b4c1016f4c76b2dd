"""Building blocks of semi-supervised methods, as pure tensor functions."""

from semiseg.ssl.ema import ema_update, mean_teacher_decay
from semiseg.ssl.ramps import linear_rampup, sigmoid_rampup

__all__ = ["ema_update", "linear_rampup", "mean_teacher_decay", "sigmoid_rampup"]
