"""Inference through several co-trained networks at once."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class SoftmaxAverage(nn.Module):
    """Predicts with the mean of its members' softmax (as C3S3's authors test).

    Returns the log of that mean, so callers that take a softmax of "logits" get the mean
    probability back exactly (``softmax(log p) = p`` when ``p`` sums to 1).

    Args:
        members: The networks, each mapping ``[B, C, *S]`` to ``[B, K, *S]`` logits. They are
            referenced, not copied: their owner keeps them in its state and optimizer.
    """

    def __init__(self, members: nn.ModuleList) -> None:
        super().__init__()
        self.members = members

    def forward(self, x: Tensor) -> Tensor:
        """``[B, K, *S]`` log mean probabilities of ``x`` (float32)."""
        prob = torch.stack([m(x).float().softmax(1) for m in self.members]).mean(0)
        return prob.clamp_min(torch.finfo(prob.dtype).tiny).log()
