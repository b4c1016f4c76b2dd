"""Batched, device-side, seeded augmentation.

All spatial transforms of a batch (rot90 + flip, small rotation, scaling) are composed
into one affine matrix per sample and applied with a single ``grid_sample`` call, on
whatever device the batch lives on. Rotations act in the plane of the first two spatial
axes (for 3D: in-plane, the slice axis untouched). Labels use nearest-neighbour sampling.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import Tensor

from semiseg.config import AugmentConfig


def _uniform(n: int, lo: float, hi: float, gen: torch.Generator, device: torch.device) -> Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen, device=device)


def random_affines(n: int, spatial_dims: int, cfg: AugmentConfig, gen: torch.Generator,
                   device: torch.device) -> Tensor:
    """Per-sample affine matrices in voxel space about the patch centre.

    Follows SSL4MIS: with probability ``rot_flip_p`` a rot90 by k in {0..3} then a flip of
    one in-plane axis; otherwise with probability ``rotate_p`` a rotation in
    ``±rotate_degrees``. Then, with probability ``scale_p``, an isotropic zoom.

    Returns:
        ``[n, D, D]`` linear parts (D = spatial_dims) mapping output to input offsets, in
        tensor axis order.
    """
    u = torch.rand(n, generator=gen, device=device)
    u2 = torch.rand(n, generator=gen, device=device)
    k = torch.randint(0, 4, (n,), generator=gen, device=device)
    flip_axis = torch.randint(0, 2, (n,), generator=gen, device=device)
    small = _uniform(n, -cfg.rotate_degrees, cfg.rotate_degrees, gen, device) * math.pi / 180
    rot_flip = u < cfg.rot_flip_p
    rotate = (~rot_flip) & (u2 < cfg.rotate_p)
    angle = torch.where(rot_flip, k.float() * (math.pi / 2), torch.where(rotate, small, 0.0))
    cos, sin = torch.cos(angle), torch.sin(angle)
    # exact zeros/ones for multiples of 90 degrees keep rot90 lossless
    cos = torch.where(rot_flip, torch.round(cos), cos)
    sin = torch.where(rot_flip, torch.round(sin), sin)
    mat = torch.eye(spatial_dims, device=device).repeat(n, 1, 1)
    mat[:, 0, 0], mat[:, 0, 1], mat[:, 1, 0], mat[:, 1, 1] = cos, -sin, sin, cos
    flip = torch.ones(n, spatial_dims, device=device)
    flip[torch.arange(n, device=device), flip_axis] = torch.where(rot_flip, -1.0, 1.0)
    mat = mat * flip[:, None, :]
    scale_on = torch.rand(n, generator=gen, device=device) < cfg.scale_p
    lo, hi = cfg.scale_range
    scale = torch.where(scale_on, _uniform(n, 1 / hi, 1 / lo, gen, device), 1.0)
    return mat * scale[:, None, None]


@functools.cache
def _half_sizes(shape: tuple[int, ...], device: torch.device) -> Tensor:
    """``(shape - 1) / 2`` as a float32 ``[D]`` tensor on ``device``.

    Cached: building it from Python numbers copies to the device, and on CUDA such a copy
    waits for the GPU; once per shape keeps the training step free of host syncs.
    """
    with torch.inference_mode(False):  # a cached inference tensor would refuse autograd use
        return (torch.tensor(shape, dtype=torch.float32, device=device) - 1) / 2


def apply_affines(x: Tensor, y: Tensor | None, mats: Tensor) -> tuple[Tensor, Tensor | None]:
    """Resample images (bilinear) and labels (nearest) with per-sample affine matrices.

    Args:
        x: ``[B, C, *S]`` float.
        y: ``[B, *S]`` int64 or None.
        mats: ``[B, D, D]`` from :func:`random_affines` (voxel space, tensor axis order).

    Returns:
        Transformed ``x`` and ``y``; zero padding outside the field of view.
    """
    b, d = x.shape[0], x.ndim - 2
    half = _half_sizes(tuple(x.shape[2:]), x.device)  # align_corners: normalised -> voxels
    theta_axes = mats * half[None, None, :] / half[None, :, None]  # H^-1 M H, H = diag(half)
    theta = theta_axes.flip((1, 2))  # grid_sample wants (x=last axis, y, z)
    theta = torch.cat([theta, torch.zeros(b, d, 1, device=x.device)], dim=2)
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=True)
    x_out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    y_out = None
    if y is not None:
        y_out = F.grid_sample(y[:, None].to(x.dtype), grid, mode="nearest", padding_mode="zeros",
                              align_corners=True)[:, 0].round().long()
    return x_out, y_out


def intensity(x: Tensor, p: float, noise_std: float, gen: torch.Generator) -> Tensor:
    """Per-sample brightness/contrast (with probability ``p``) and Gaussian noise."""
    b = x.shape[0]
    view = (b,) + (1,) * (x.ndim - 1)
    if p > 0:
        on = (torch.rand(b, generator=gen, device=x.device) < p).float().view(view)
        gain = _uniform(b, 0.75, 1.25, gen, x.device).view(view)
        shift = _uniform(b, -0.1, 0.1, gen, x.device).view(view)
        mean = x.mean(dim=tuple(range(1, x.ndim)), keepdim=True)
        x = x + on * ((x - mean) * (gain - 1) + shift * x.std(dim=tuple(range(1, x.ndim)),
                                                            keepdim=True))
    if noise_std > 0:
        x = x + noise_std * torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)
    return x


def weak_augment(x: Tensor, y: Tensor | None, cfg: AugmentConfig,
                 gen: torch.Generator) -> tuple[Tensor, Tensor | None]:
    """The engine's weak augmentation of one batch (spatial, then intensity).

    Args:
        x: ``[B, C, *S]`` float32 on the training device.
        y: ``[B, *S]`` int64 or None.
        cfg: Probabilities and ranges.
        gen: Generator on ``x.device``; the only source of randomness.
    """
    if x.shape[0] == 0:
        return x, y
    mats = random_affines(x.shape[0], x.ndim - 2, cfg, gen, x.device)
    x, y = apply_affines(x, y, mats)
    return intensity(x, cfg.intensity_p, cfg.noise_std, gen), y
