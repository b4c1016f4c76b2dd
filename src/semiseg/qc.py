"""Segmentation quality control: realistic corruptions and a network that predicts Dice.

The quality network sees an image and a segmentation of it (one-hot) and predicts the
segmentation's Dice to the unknown truth (mean over foreground classes present in
either). It learns from labeled data only: their true masks, corrupted as automatic
segmentations fail (eroded or dilated structures, holes, shifted structures, swapped
labels, missing slices or missing structures), and a segmenter's own predictions, all
with their true Dice as the target. Corruptions are batched tensor operations on the
training device, for 2D slices and 3D volumes alike.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from semiseg.nets.layers import conv_nd, norm_nd

CORRUPTIONS = ("erode", "dilate", "holes", "shift", "swap", "drop", "clean")


def soft_dice_per_sample(pred: Tensor, truth: Tensor, num_classes: int) -> Tensor:
    """Mean foreground Dice per sample of hard label maps ``[B, *S] -> [B]``.

    Classes absent from both count as 1 (nothing to find, nothing found).
    """
    dims = tuple(range(1, pred.ndim))
    scores = []
    for k in range(1, num_classes):
        p, t = pred == k, truth == k
        inter = (p & t).sum(dims).float()
        total = (p.sum(dims) + t.sum(dims)).float()
        scores.append(torch.where(total > 0, 2 * inter / total.clamp_min(1), 1.0))
    return torch.stack(scores, 1).mean(1)


def _morph(mask: Tensor, radius: int, dilate: bool) -> Tensor:
    """Binary dilation (or erosion) of ``[B, *S]`` bool masks by a cube of side 2r+1."""
    pool = F.max_pool2d if mask.ndim == 3 else F.max_pool3d
    x = mask.float().unsqueeze(1)
    if not dilate:
        x = 1 - x
    x = pool(x, 2 * radius + 1, stride=1, padding=radius)
    return (x if dilate else 1 - x).squeeze(1) > 0.5


def corrupt(labels: Tensor, num_classes: int, generator: torch.Generator | None = None
            ) -> tuple[Tensor, list[str]]:
    """One random realistic corruption per sample (some stay clean).

    Args:
        labels: ``[B, *S]`` int64 true label maps (2D or 3D).
        num_classes: K.
        generator: Random source (CPU generator; None = global).

    Returns:
        Corrupted ``[B, *S]`` labels and the corruption applied to each sample.
    """
    out = labels.clone()
    kinds = []
    spatial = labels.shape[1:]

    def rand_int(low: int, high: int) -> int:
        return int(torch.randint(low, high, (1,), generator=generator))

    for b in range(labels.shape[0]):
        kind = CORRUPTIONS[rand_int(0, len(CORRUPTIONS))]
        kinds.append(kind)
        y = out[b]
        k = rand_int(1, num_classes)  # the structure that fails
        mask = y == k
        if kind in ("erode", "dilate"):
            grown = _morph(mask[None], rand_int(1, 4), kind == "dilate")[0]
            y[mask & ~grown] = 0
            y[grown & ~mask] = k  # over-segmentation eats into neighbours too
        elif kind == "holes" and bool(mask.any()):
            inside = mask.nonzero()
            picks = torch.randint(0, inside.shape[0], (rand_int(1, 4),), generator=generator)
            seeds = torch.zeros_like(mask)
            seeds[tuple(inside[picks.to(inside.device)].T)] = True
            y[mask & _morph(seeds[None], rand_int(1, 4), True)[0]] = 0
        elif kind == "shift":
            offsets = [rand_int(-max(n // 8, 1), max(n // 8, 1) + 1) for n in spatial]
            moved = torch.roll(mask, shifts=offsets, dims=tuple(range(len(spatial))))
            y[mask] = 0
            y[moved] = k
        elif kind == "swap" and num_classes > 2:
            other = rand_int(1, num_classes - 1)
            other = other + 1 if other >= k else other
            other_mask = y == other
            y[mask] = other
            y[other_mask] = k
        elif kind == "drop":
            if len(spatial) == 3 and spatial[-1] > 1:  # missing slices of a volume
                lost = torch.rand(spatial[-1], generator=generator).to(y.device) < 0.4
                y[..., lost] = 0
            else:  # a structure missing from the slice
                y[mask] = 0
    return out, kinds


class QualityNet(nn.Module):
    """Image + one-hot segmentation -> predicted Dice in [0, 1].

    Args:
        spatial_dims: 2 or 3.
        in_channels: Image channels C.
        num_classes: K (the segmentation enters one-hot).
        channels: Widths of the stride-2 conv blocks.

    Shapes:
        ``forward(image [B, C, *S], labels [B, *S]) -> [B]``.
    """

    def __init__(self, spatial_dims: int, in_channels: int, num_classes: int,
                 channels: tuple[int, ...] = (16, 32, 64, 128)) -> None:
        super().__init__()
        self.num_classes = num_classes
        layers: list[nn.Module] = []
        cin = in_channels + num_classes
        for c in channels:
            conv = conv_nd(spatial_dims, cin, c, 3)
            conv.stride = (2,) * spatial_dims
            layers += [conv, norm_nd(spatial_dims, c), nn.LeakyReLU(0.01)]
            cin = c
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(cin, 1)

    def forward(self, image: Tensor, labels: Tensor) -> Tensor:
        """Predicted Dice per sample."""
        onehot = F.one_hot(labels.long(), self.num_classes).movedim(-1, 1).to(image.dtype)
        x = self.features(torch.cat([image, onehot], dim=1))
        return torch.sigmoid(self.head(x.flatten(2).mean(2))).squeeze(1)
