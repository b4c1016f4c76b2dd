"""Overlap metrics on binary masks, as medpy.metric.binary defines them."""

from __future__ import annotations

import numpy as np


def dice(pred: np.ndarray, truth: np.ndarray) -> float:
    """``2 |P ∩ T| / (|P| + |T|)``; 1.0 when both are empty (see ``metrics.distance``)."""
    pred, truth = pred.astype(bool), truth.astype(bool)
    total = int(pred.sum()) + int(truth.sum())
    if total == 0:
        return 1.0
    return 2.0 * int(np.count_nonzero(pred & truth)) / total


def jaccard(pred: np.ndarray, truth: np.ndarray) -> float:
    """``|P ∩ T| / |P ∪ T|``; 1.0 when both are empty."""
    pred, truth = pred.astype(bool), truth.astype(bool)
    union = int(np.count_nonzero(pred | truth))
    if union == 0:
        return 1.0
    return int(np.count_nonzero(pred & truth)) / union
