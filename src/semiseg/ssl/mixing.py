"""Box masks and mixing for CutMix (UniMatch), copy-paste (BCP) and block masks (M3HL).

Any spatial dimension.

A mask is a float tensor of 1s inside the pasted box and 0s elsewhere; ``mix(a, b, m)``
takes ``b`` inside the box and ``a`` outside, for images ``[B, C, *S]`` and labels
``[B, *S]`` alike.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def box_mask(spatial: tuple[int, ...] | torch.Size, side_fraction: float,
             device: torch.device | str = "cpu") -> Tensor:
    """One box of ``side_fraction`` of every side at a uniformly random position.

    BCP's mask: the same box serves the whole batch (``[1, *S]``, 1 inside the box).
    """
    mask = torch.zeros((1, *spatial), device=device)
    index: list[int | slice] = [0]
    for size in spatial:
        side = int(size * side_fraction)
        start = int(torch.randint(0, max(size - side, 0) + 1, ()).item())
        index.append(slice(start, start + side))
    mask[tuple(index)] = 1.0
    return mask


def cutmix_masks(batch: int, spatial: tuple[int, ...] | torch.Size, p: float = 0.5,
                 area: tuple[float, float] = (0.02, 0.4),
                 aspect: tuple[float, float] = (0.3, 1 / 0.3),
                 device: torch.device | str = "cpu") -> Tensor:
    """CutMix boxes as in UniMatch, one per sample with probability ``p``.

    A box has a random share of the image in ``area`` and a side ratio in ``aspect``
    (first two axes; further axes take the geometric mean side) and lies fully inside.

    Returns:
        ``[B, *S]`` float mask, all zeros for samples without a box.
    """
    spatial = tuple(spatial)
    masks = torch.zeros((batch, *spatial), device=device)
    volume = math.prod(spatial)
    for b in range(batch):
        if float(torch.rand(())) >= p:
            continue
        for _ in range(100):  # rejection sampling, as UniMatch does, until the box fits
            share = float(torch.empty(()).uniform_(*area))
            ratio = float(torch.empty(()).uniform_(math.log(aspect[0]), math.log(aspect[1])))
            side = (share * volume) ** (1 / len(spatial))
            sides = [side * math.exp(ratio / 2), side * math.exp(-ratio / 2)]
            sides += [side] * (len(spatial) - 2)
            sides = [max(1, int(s)) for s in sides]
            if all(s <= n for s, n in zip(sides, spatial, strict=True)):
                break
        else:
            continue
        index = [b]
        for s, n in zip(sides, spatial, strict=True):
            start = int(torch.randint(0, n - s + 1, ()).item())
            index.append(slice(start, start + s))
        masks[tuple(index)] = 1.0
    return masks


def block_masks(batch: int, spatial: tuple[int, ...] | torch.Size, grid: int = 4,
                ratio: float = 0.5, device: torch.device | str = "cpu") -> Tensor:
    """M3HL's masks: a ``grid`` per axis of blocks, a random ``ratio`` of them set, per sample.

    Block borders split every axis as evenly as integers allow, so sizes need not be
    divisible by ``grid``. Each sample sets exactly ``round(ratio * grid ** D)`` blocks,
    drawn without replacement.

    Returns:
        ``[B, *S]`` float mask, 1 on the chosen blocks.
    """
    spatial = tuple(spatial)
    if grid < 1 or any(grid > n for n in spatial):
        raise ValueError(f"block grid {grid} does not fit the spatial size {spatial}")
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"block ratio must lie in [0, 1], got {ratio}")
    blocks = grid ** len(spatial)
    chosen = torch.rand(batch, blocks, device=device).argsort(1) < round(ratio * blocks)
    block_id = torch.zeros(spatial, dtype=torch.long, device=device)
    for axis, n in enumerate(spatial):
        along = torch.arange(n, device=device) * grid // n  # block row of every voxel
        shape = [1] * len(spatial)
        shape[axis] = n
        block_id = block_id * grid + along.view(shape)
    return chosen[:, block_id].float()


def mix(outside: Tensor, inside: Tensor, mask: Tensor) -> Tensor:
    """``inside`` where ``mask`` is 1, ``outside`` elsewhere.

    Args:
        outside: ``[B, C, *S]`` images or ``[B, *S]`` labels.
        inside: Same shape and dtype as ``outside``.
        mask: ``[B, *S]``, or ``[1, *S]`` for one mask of the whole batch, values in {0, 1}.
    """
    if outside.shape != inside.shape:
        raise ValueError(f"mix: shapes differ, {tuple(outside.shape)} vs {tuple(inside.shape)}")
    if outside.ndim == mask.ndim + 1:  # images carry a channel axis
        mask = mask.unsqueeze(1)
    elif outside.ndim != mask.ndim:
        raise ValueError(f"mix: mask {tuple(mask.shape)} fits neither labels nor images of "
                         f"shape {tuple(outside.shape)}")
    return torch.where(mask.bool(), inside, outside)
