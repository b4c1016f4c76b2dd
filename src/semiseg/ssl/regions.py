"""Region displacement of CAD (largest low-confidence region replacement), any dimension.

A region is an axis-aligned box given by its start and side per axis. The box of a
sample's largest connected low-confidence component (capped at a maximum side) is
overwritten with the equally sized window of highest confidence from another view.
Window scores use summed-area tables, so every window size costs one pass.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import Tensor

from semiseg.ssl.pseudo import largest_component


def box_sums(x: Tensor, sides: tuple[int, ...] | list[int]) -> Tensor:
    """Sum of ``x`` over every window of the given sides (summed-area table).

    Args:
        x: ``[*S]`` float.
        sides: Window side per axis, each in ``[1, S_i]``.

    Returns:
        ``[*(S - sides + 1)]``: entry ``i`` is the sum over the window starting at ``i``.
    """
    d = x.ndim
    table = F.pad(x.double(), [1, 0] * d)  # a leading zero per axis
    for axis in range(d):
        table = table.cumsum(axis)
    out = torch.zeros([n - s + 1 for n, s in zip(x.shape, sides, strict=True)],
                      dtype=table.dtype, device=x.device)
    for corner in itertools.product((0, 1), repeat=d):  # inclusion-exclusion
        index = tuple(slice(s, s + m) if c else slice(0, m)
                      for c, s, m in zip(corner, sides, out.shape, strict=True))
        out += (-1) ** (d - sum(corner)) * table[index]
    return out


def best_window(score: Tensor, sides: tuple[int, ...] | list[int]) -> list[int]:
    """Start of the window of the given sides with the largest summed ``score`` (``[*S]``)."""
    sums = box_sums(score, sides)
    flat = int(sums.reshape(-1).argmax())
    return [int(i) for i in torch.unravel_index(torch.tensor(flat), sums.shape)]


def low_confidence_boxes(conf: Tensor, threshold: float, max_side_fraction: float
                         ) -> tuple[Tensor, Tensor]:
    """Box of each sample's largest connected component of voxels below ``threshold``.

    A component larger than ``max_side_fraction`` of a side is cut to a window of that
    side, the one covering most of the component.

    Args:
        conf: ``[B, *S]`` voxel confidence (maximum class probability).
        threshold: Voxels with ``conf < threshold`` are low-confidence.
        max_side_fraction: Largest box side as a share of each image side.

    Returns:
        ``(starts, sides)``, each ``[B, D]`` int64; ``sides`` are 0 for a sample without
        low-confidence voxels.
    """
    b, *spatial = conf.shape
    region = largest_component(conf < threshold)
    starts = torch.zeros((b, len(spatial)), dtype=torch.long)
    sides = torch.zeros_like(starts)
    caps = [max(1, int(n * max_side_fraction)) for n in spatial]
    for i in range(b):
        voxels = region[i].nonzero()
        if voxels.numel() == 0:
            continue
        low = voxels.min(0).values.cpu()
        extent = (voxels.max(0).values.cpu() - low + 1).tolist()
        side = [min(e, c) for e, c in zip(extent, caps, strict=True)]
        if side == extent:  # the whole bounding box fits under the cap
            start = low.tolist()
        else:
            start = best_window(region[i].float(), side)
        starts[i], sides[i] = torch.tensor(start), torch.tensor(side)
    return starts, sides


def confident_windows(conf: Tensor, sides: Tensor) -> Tensor:
    """Start ``[B, D]`` of each sample's most confident window of its own ``sides``."""
    starts = torch.zeros_like(sides)
    for i in range(conf.shape[0]):
        if bool((sides[i] > 0).all()):
            starts[i] = torch.tensor(best_window(conf[i], sides[i].tolist()))
    return starts


def paste_boxes(dst: Tensor, src: Tensor, dst_starts: Tensor, src_starts: Tensor,
                sides: Tensor) -> Tensor:
    """Copy each sample's ``src`` window into its ``dst`` window (a new tensor).

    Args:
        dst, src: ``[B, C, *S]`` images (or ``[B, *S]`` labels).
        dst_starts, src_starts, sides: ``[B, D]`` int64; samples with a 0 side are left.
    """
    out = dst.clone()
    lead = dst.ndim - sides.shape[1]  # batch (+ channel) axes
    for i in range(dst.shape[0]):
        if not bool((sides[i] > 0).all()):
            continue
        box_d = [slice(int(s), int(s + n)) for s, n in zip(dst_starts[i], sides[i], strict=True)]
        box_s = [slice(int(s), int(s + n)) for s, n in zip(src_starts[i], sides[i], strict=True)]
        channel = [slice(None)] * (lead - 1)
        out[(i, *channel, *box_d)] = src[(i, *channel, *box_s)]
    return out
