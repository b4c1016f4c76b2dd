"""Contrastive losses between the dense projections of two networks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def voxel_cosine(a: Tensor, b: Tensor, eps: float = 1e-8) -> Tensor:
    """Cosine similarity of two feature maps along the channels, at every voxel.

    The values of ``F.cosine_similarity(a, b, dim=1)`` (norms clamped at ``eps``), from
    the dot product over the norms: only ``[B, *S]`` maps are divided, where ATen's
    version divides both ``[B, D, *S]`` inputs by their norms and back-propagates
    through that (measured in BENCHMARKS.md, C3S3's step).

    Args:
        a, b: ``[B, D, *S]`` features.
        eps: Lower bound of each norm.

    Returns:
        ``[B, *S]`` similarities in ``[-1, 1]``.
    """
    dot = (a * b).sum(1)
    return dot / (a.norm(dim=1).clamp_min(eps) * b.norm(dim=1).clamp_min(eps))


def outcome_contrastive_loss(proj_a: Tensor, proj_b: Tensor, logits_a: Tensor,
                             logits_b: Tensor, temperature: float = 0.1) -> Tensor:
    """C3S3's outcome-driven contrastive loss, for any number of classes.

    ``s_i`` is the cosine similarity of the two networks' projections at voxel ``i``. The
    networks' predictions (argmax) define two voxel sets: ``I``, both predict the same
    foreground class, and ``U``, at least one predicts foreground. Two InfoNCE terms pull
    the networks' projections together where their outcomes agree and push them apart
    elsewhere; ``U - I`` is where they disagree, mostly along boundaries:

    ``-mean_i log(e^{I_i s_i/t} / (sum_j e^{(1-I_j) s_j/t} + e^{I_i s_i/t}))``
    ``-mean_i log(e^{(1-U_i) s_i/t} / (sum_j e^{U_j s_j/t} + e^{(1-U_i) s_i/t}))``

    (the C3S3 code's binary loss with ``I`` and ``U`` from the foreground class),
    computed with log-sum-exp so that large batches cannot overflow.

    As in the authors' code, masked entries enter both sums as ``e^0`` instead of being left
    out, and the mean runs over all ``N`` voxels. Each region (agreement, disagreement,
    background) is then a positive in one term and a negative in the other, and for
    similarities uniform within each region the sum is lowest at ``s = 0`` everywhere, where
    each term equals ``ln N``: the loss, as published, drives the two networks' projections
    toward orthogonality. C3S3's ACDC runs converge there (BENCHMARKS.md, C3S3).

    Args:
        proj_a, proj_b: ``[B, D, *S]`` projections of the two networks.
        logits_a, logits_b: ``[B, K, *S]`` their predictions (no gradient is taken).
        temperature: ``t``.

    Returns:
        Scalar loss.
    """
    sim = voxel_cosine(proj_a.float(), proj_b.float()).flatten() / temperature
    with torch.no_grad():
        pred_a, pred_b = logits_a.argmax(1).flatten(), logits_b.argmax(1).flatten()
        both = ((pred_a == pred_b) & (pred_a > 0)).to(sim.dtype)
        either = ((pred_a > 0) | (pred_b > 0)).to(sim.dtype)

    def info_nce(positive: Tensor) -> Tensor:
        pos = positive * sim
        negatives = torch.logsumexp((1 - positive) * sim, dim=0)
        return (torch.logaddexp(negatives, pos) - pos).mean()

    return info_nce(both) + info_nce(1 - either)


def self_paced_weights(difficulty: Tensor, gamma: float, mode: str = "soft") -> Tensor:
    """Self-paced weights of positive pairs from their difficulty (their loss).

    ``hard``: 1 for pairs easier than ``gamma``, 0 beyond. ``soft`` (linear): ``1 - l /
    gamma``, i.e. 1 for the easiest pairs, falling linearly to 0 at ``gamma`` and 0
    beyond. Raising ``gamma`` over training lets the hard pairs in later.
    """
    if mode == "hard":
        return (difficulty < gamma).to(difficulty.dtype)
    if mode == "soft":
        return (1 - difficulty / max(gamma, 1e-12)).clamp(0.0, 1.0)
    raise ValueError(f"self-paced mode must be 'hard' or 'soft', got {mode!r}")


def supervised_info_nce(features: Tensor, labels: Tensor, temperature: float = 0.07,
                        gamma: float | None = None, mode: str = "soft"
                        ) -> tuple[Tensor, Tensor]:
    """Supervised InfoNCE (SupCon) with optional self-paced weighting of positive pairs.

    For anchor ``i`` the positives are the other samples with its label; each positive
    pair's loss is ``-log(e^{s_ip / t} / sum_{a != i} e^{s_ia / t})`` on cosine
    similarities ``s``. The anchor's loss is the (weighted) mean over its positives;
    anchors without positives do not count.

    Args:
        features: ``[N, D]`` (normalised here).
        labels: ``[N]`` int meta-labels.
        temperature: ``t`` (0.07 as in SupCon / SPCL).
        gamma: Self-paced threshold on the pair loss (None: every pair weighs 1).
        mode: ``hard`` or ``soft`` self-paced weights.

    Returns:
        ``(loss, share)``: scalar loss, and the weighted share of positive pairs in use.
    """
    z = F.normalize(features.float(), dim=1)
    n = z.shape[0]
    logits = z @ z.T / temperature
    eye = torch.eye(n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(eye, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    positive = (labels[:, None] == labels[None, :]) & ~eye
    pair_loss = -log_prob.masked_fill(~positive, 0.0)
    weight = positive.to(z.dtype)
    if gamma is not None:
        weight = weight * self_paced_weights(pair_loss.detach(), gamma, mode)
    per_anchor = (pair_loss * weight).sum(1) / weight.sum(1).clamp_min(1e-8)
    has_pos = weight.sum(1) > 0
    loss = (per_anchor * has_pos).sum() / has_pos.sum().clamp_min(1)
    share = weight.sum() / positive.sum().clamp_min(1)
    return loss, share
