"""Image perturbations of semi-supervised methods, batched on the training device.

``strong_intensity`` is the photometric part of the strong views of UniMatch / ABD
(colour jitter and blur of the torchvision pipeline, reduced to what acts on a
single-channel medical image: brightness, contrast, Gaussian blur); geometry stays that
of the weak view so that pseudo-labels transfer voxel to voxel.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def _per_sample(x: Tensor, low: float, high: float) -> Tensor:
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    return torch.empty(shape, device=x.device, dtype=x.dtype).uniform_(low, high)


def _chance(x: Tensor, p: float) -> Tensor:
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    return torch.rand(shape, device=x.device) < p


def gaussian_blur(x: Tensor, sigma: Tensor, radius: int) -> Tensor:
    """Separable Gaussian blur with a per-sample ``sigma`` ``[B]``, any spatial dimension.

    Args:
        x: ``[B, C, *S]``.
        sigma: ``[B]`` standard deviations in voxels.
        radius: Kernel half-width.
    """
    b, c, *spatial = x.shape
    offsets = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-0.5 * (offsets[None] / sigma[:, None].to(x.dtype)) ** 2)
    kernel = kernel / kernel.sum(dim=1, keepdim=True)  # [B, 2r+1]
    conv = F.conv2d if len(spatial) == 2 else F.conv3d
    out = x.reshape(1, b * c, *spatial)
    weight = kernel.repeat_interleave(c, dim=0)  # one kernel per (sample, channel) group
    for axis in range(len(spatial)):
        shape = [b * c, 1] + [1] * len(spatial)
        shape[2 + axis] = 2 * radius + 1
        pad = [0, 0] * len(spatial)
        pad[2 * (len(spatial) - 1 - axis)] = pad[2 * (len(spatial) - 1 - axis) + 1] = radius
        out = conv(F.pad(out, pad, mode="replicate"), weight.view(shape), groups=b * c)
    return out.view(b, c, *spatial)


def strong_intensity(x: Tensor, jitter_p: float = 0.8, brightness: float = 0.5,
                     contrast: float = 0.5, blur_p: float = 0.5,
                     blur_sigma: tuple[float, float] = (0.1, 2.0)) -> Tensor:
    """Random brightness/contrast jitter and Gaussian blur per sample (global torch RNG).

    Args:
        x: ``[B, C, *S]`` images.
        jitter_p: Chance of brightness and contrast jitter (factors in ``1 ± brightness``,
            ``1 ± contrast``; contrast scales around the image mean, as torchvision does).
        blur_p: Chance of a Gaussian blur with sigma uniform in ``blur_sigma``.

    Returns:
        ``[B, C, *S]``, same dtype.
    """
    jitter = _chance(x, jitter_p)
    b_factor = _per_sample(x, 1 - brightness, 1 + brightness)
    c_factor = _per_sample(x, 1 - contrast, 1 + contrast)
    mean = x.mean(dim=tuple(range(1, x.ndim)), keepdim=True)
    jittered = (x * b_factor - mean * b_factor) * c_factor + mean * b_factor
    x = torch.where(jitter, jittered, x)
    sigma = torch.empty(x.shape[0], device=x.device).uniform_(*blur_sigma)
    radius = math.ceil(2 * blur_sigma[1])
    blurred = gaussian_blur(x, sigma, radius)
    return torch.where(_chance(x, blur_p), blurred, x)


def feature_dropout(features: list[Tensor], p: float = 0.5) -> list[Tensor]:
    """UniMatch's feature perturbation: channel dropout (Dropout2d/3d) on every level."""
    return [F.dropout1d(f.flatten(2), p, training=True).view_as(f) for f in features]
