"""Contrastive losses between the dense projections of two networks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


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

    Args:
        proj_a, proj_b: ``[B, D, *S]`` projections of the two networks.
        logits_a, logits_b: ``[B, K, *S]`` their predictions (no gradient is taken).
        temperature: ``t``.

    Returns:
        Scalar loss.
    """
    sim = F.cosine_similarity(proj_a.float(), proj_b.float(), dim=1).flatten() / temperature
    with torch.no_grad():
        pred_a, pred_b = logits_a.argmax(1).flatten(), logits_b.argmax(1).flatten()
        both = ((pred_a == pred_b) & (pred_a > 0)).to(sim.dtype)
        either = ((pred_a > 0) | (pred_b > 0)).to(sim.dtype)

    def info_nce(positive: Tensor) -> Tensor:
        pos = positive * sim
        negatives = torch.logsumexp((1 - positive) * sim, dim=0)
        return (torch.logaddexp(negatives, pos) - pos).mean()

    return info_nce(both) + info_nce(1 - either)
