"""Segmentation losses in the SSL4MIS convention."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def dice_loss(prob: Tensor, target: Tensor, smooth: float = 1e-5,
              weight: Tensor | None = None) -> Tensor:
    """SSL4MIS soft Dice loss, mean over all classes (background included).

    Per class ``k``: ``1 - (2 sum(w p t) + s) / (sum(w p^2) + sum(w t^2) + s)`` over the
    whole batch, as SSL4MIS's ``DiceLoss`` computes it (``w = 1`` without ``weight``).

    Args:
        prob: ``[B, K, *S]`` probabilities (softmax output).
        target: ``[B, *S]`` int64 labels in ``[0, K)``, or ``[B, K, *S]`` soft targets.
        smooth: Added to numerator and denominator.
        weight: ``[B, *S]`` voxel weights (e.g. a confidence or region mask); voxels of
            weight 0 do not count at all.
    """
    if target.ndim == prob.ndim - 1:
        target = F.one_hot(target, prob.shape[1]).movedim(-1, 1).to(prob.dtype)
    if weight is not None:
        w = weight.unsqueeze(1).to(prob.dtype)
        prob, target = prob * w.sqrt(), target * w.sqrt()  # every term is a product of two
    dims = (0, *range(2, prob.ndim))
    inter = (prob * target).sum(dims)
    denom = (prob * prob).sum(dims) + (target * target).sum(dims)
    return 1 - ((2 * inter + smooth) / (denom + smooth)).mean()


def masked_cross_entropy(logits: Tensor, target: Tensor, weight: Tensor) -> Tensor:
    """Cross-entropy averaged over the weighted voxels: ``sum(w CE) / (sum(w) + 1e-16)``.

    Args:
        logits: ``[B, K, *S]``.
        target: ``[B, *S]`` int64.
        weight: ``[B, *S]`` voxel weights.
    """
    ce = F.cross_entropy(logits.float(), target, reduction="none")
    weight = weight.to(ce.dtype)
    return (ce * weight).sum() / (weight.sum() + 1e-16)


def region_supervised_loss(logits: Tensor, target_out: Tensor, target_in: Tensor,
                           mask: Tensor, weight_out: float, weight_in: float
                           ) -> tuple[Tensor, Tensor]:
    """Dice and CE of a copy-pasted sample, each region with its own target and weight.

    BCP's mixed loss: outside the pasted box (``mask == 0``) the prediction is compared
    with ``target_out``, inside with ``target_in``; Dice and CE are computed per region
    (normalised by that region's size) and weighted.

    Args:
        logits: ``[B, K, *S]``.
        target_out, target_in: ``[B, *S]`` int64.
        mask: ``[1, *S]`` (one box for the batch) or ``[B, *S]``, 1 inside the pasted box.

    Returns:
        ``(dice, ce)``, both weighted sums over the two regions.
    """
    prob = logits.float().softmax(1)
    inside = mask.expand(target_out.shape).to(prob.dtype)
    outside = 1 - inside
    dice = (weight_out * dice_loss(prob, target_out, weight=outside)
            + weight_in * dice_loss(prob, target_in, weight=inside))
    ce = (weight_out * masked_cross_entropy(logits, target_out, outside)
          + weight_in * masked_cross_entropy(logits, target_in, inside))
    return dice, ce


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
