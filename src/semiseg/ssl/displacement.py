"""Patch displacement on a regular grid (ABD, Chi et al., CVPR 2024), any spatial dimension.

Images are cut into ``grid`` patches per axis (``grid ** D`` patches). Patch confidence is
the mean of the voxel-wise maximum probability inside the patch; a patch's class
distribution is the softmax of its mean logits.

- ABD-R (unlabeled): each view's least confident patch is replaced by the one of the
  other view's ``top_k`` most confident patches whose class distribution is closest
  (smallest KL) to it.
- ABD-I (labeled): the other way round: each view's most confident patch is replaced by
  the other view's least confident one, labels moved along.
"""

from __future__ import annotations

import torch
from torch import Tensor


def to_patches(x: Tensor, grid: int) -> Tensor:
    """``[B, C, *S] -> [B, P, C, *S/grid]`` with ``P = grid ** D`` (row-major patch order)."""
    b, c, *spatial = x.shape
    if any(s % grid for s in spatial):
        raise ValueError(f"spatial size {spatial} is not divisible by the patch grid {grid}")
    d = len(spatial)
    shape = [b, c]
    for s in spatial:
        shape += [grid, s // grid]
    x = x.reshape(shape)
    grid_axes = [2 + 2 * i for i in range(d)]
    inner_axes = [3 + 2 * i for i in range(d)]
    x = x.permute(0, *grid_axes, 1, *inner_axes)
    return x.reshape(b, grid**d, c, *[s // grid for s in spatial])


def from_patches(patches: Tensor, grid: int) -> Tensor:
    """Inverse of :func:`to_patches`: ``[B, P, C, *s] -> [B, C, *s * grid]``."""
    b, _, c, *inner = patches.shape
    d = len(inner)
    x = patches.reshape(b, *[grid] * d, c, *inner)
    order = [0, d + 1]
    for i in range(d):
        order += [1 + i, d + 2 + i]
    return x.permute(order).reshape(b, c, *[s * grid for s in inner])


def patch_confidence(prob: Tensor, grid: int) -> Tensor:
    """Mean max-probability per patch: ``[B, K, *S] -> [B, P]``."""
    top = prob.max(dim=1, keepdim=True).values
    return to_patches(top, grid).flatten(2).mean(dim=2)


def patch_class_distribution(logits: Tensor, grid: int) -> Tensor:
    """Softmax of the mean logits per patch: ``[B, K, *S] -> [B, P, K]``."""
    return to_patches(logits, grid).flatten(3).mean(dim=3).float().softmax(dim=-1)


def abd_r_indices(conf_a: Tensor, conf_b: Tensor, dist_a: Tensor, dist_b: Tensor,
                  top_k: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Which patches ABD-R exchanges between two views of the same images.

    Args:
        conf_a, conf_b: ``[B, P]`` patch confidences of view a and view b.
        dist_a, dist_b: ``[B, P, K]`` patch class distributions.
        top_k: Candidates among each view's most confident patches.

    Returns:
        ``(weak_a, source_b, weak_b, source_a)``, each ``[B]``: view a's patch ``weak_a``
        receives view b's patch ``source_b`` and view b's ``weak_b`` receives a's
        ``source_a``.
    """
    weak_a, weak_b = conf_a.argmin(dim=1), conf_b.argmin(dim=1)
    top_a, top_b = conf_a.topk(top_k, dim=1).indices, conf_b.topk(top_k, dim=1).indices
    rows = torch.arange(conf_a.shape[0], device=conf_a.device)

    def closest(top: Tensor, dist_top: Tensor, weak_dist: Tensor) -> Tensor:
        cand = dist_top[rows[:, None], top]  # [B, k, K]
        p = weak_dist[:, None, :]  # KL(weak || candidate), as the ABD code's kl_div
        kl = (p * (p.clamp_min(1e-12).log() - cand.clamp_min(1e-12).log())).sum(-1)
        return top[rows, kl.argmin(dim=1)]

    source_b = closest(top_b, dist_b, dist_a[rows, weak_a])
    source_a = closest(top_a, dist_a, dist_b[rows, weak_b])
    return weak_a, source_b, weak_b, source_a


def swap_patches(x_a: Tensor, x_b: Tensor, grid: int, into_a: Tensor, from_b: Tensor,
                 into_b: Tensor, from_a: Tensor, apply: Tensor | None = None
                 ) -> tuple[Tensor, Tensor]:
    """Copy patch ``from_b`` of ``x_b`` into patch ``into_a`` of ``x_a`` and vice versa.

    Both copies read the original tensors (never an already displaced patch).

    Args:
        x_a, x_b: ``[B, C, *S]`` images (or ``[B, 1, *S]`` float-coded labels).
        into_a, from_b, into_b, from_a: ``[B]`` patch indices.
        apply: ``[B]`` bool; samples where it is False stay unchanged.

    Returns:
        The displaced ``(x_a, x_b)`` (new tensors).
    """
    pa, pb = to_patches(x_a, grid), to_patches(x_b, grid)
    rows = torch.arange(x_a.shape[0], device=x_a.device)
    if apply is None:
        apply = torch.ones_like(rows, dtype=torch.bool)
    keep = (~apply).view(-1, *[1] * (pa.ndim - 2))
    new_a, new_b = pa.clone(), pb.clone()
    new_a[rows, into_a] = torch.where(keep, pa[rows, into_a], pb[rows, from_b])
    new_b[rows, into_b] = torch.where(keep, pb[rows, into_b], pa[rows, from_a])
    return from_patches(new_a, grid), from_patches(new_b, grid)


def displace_labels(y_a: Tensor, y_b: Tensor, grid: int, *indices: Tensor,
                    apply: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """:func:`swap_patches` for ``[B, *S]`` int64 label maps."""
    out_a, out_b = swap_patches(y_a.unsqueeze(1), y_b.unsqueeze(1), grid, *indices, apply=apply)
    return out_a.squeeze(1), out_b.squeeze(1)

