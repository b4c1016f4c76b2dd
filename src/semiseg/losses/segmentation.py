"""Segmentation losses in the SSL4MIS convention."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def dice_loss(prob: Tensor, target: Tensor, smooth: float = 1e-5) -> Tensor:
    """SSL4MIS soft Dice loss, mean over all classes (background included).

    Per class ``k``: ``1 - (2 sum(p t) + s) / (sum(p^2) + sum(t^2) + s)`` over the whole
    batch, as SSL4MIS's ``DiceLoss`` computes it.

    Args:
        prob: ``[B, K, *S]`` probabilities (softmax output).
        target: ``[B, *S]`` int64 labels in ``[0, K)``, or ``[B, K, *S]`` soft targets.
        smooth: Added to numerator and denominator.
    """
    if target.ndim == prob.ndim - 1:
        target = F.one_hot(target, prob.shape[1]).movedim(-1, 1).to(prob.dtype)
    dims = (0, *range(2, prob.ndim))
    inter = (prob * target).sum(dims)
    denom = (prob * prob).sum(dims) + (target * target).sum(dims)
    return 1 - ((2 * inter + smooth) / (denom + smooth)).mean()


def supervised_loss(logits: Tensor, target: Tensor) -> Tensor:
    """SSL4MIS supervised loss ``0.5 * (CE + Dice)``.

    Args:
        logits: ``[B, K, *S]`` (any float dtype; computed in float32).
        target: ``[B, *S]`` int64.
    """
    logits = logits.float()
    return 0.5 * (F.cross_entropy(logits, target) + dice_loss(logits.softmax(1), target))


def softmax_mse(logits: Tensor, target_prob: Tensor) -> Tensor:
    """Mean squared difference between ``softmax(logits)`` and target probabilities."""
    return torch.mean((logits.float().softmax(1) - target_prob.float()) ** 2)
