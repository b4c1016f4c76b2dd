"""Whole-case prediction: 2D networks slice by slice, 3D networks by sliding window.

2D: every slice of a volume (or the 2D image) is resized to the training size, the
logits are resized back to the native slice size (bilinear) and then arg-maxed, so the
output has exactly the input's shape. 3D: overlapping windows weighted by a Gaussian
importance map (nnU-Net / MONAI style), the volume padded when smaller than a window.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn


def autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    """Autocast context for ``dtype`` on ``device`` (a no-op for None)."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


@torch.no_grad()
def predict_slices(net: nn.Module, image: Tensor, slice_axis: int, size: list[int],
                   batch: int = 32, amp: torch.dtype | None = None) -> Tensor:
    """Class probabilities of a 2D network over a volume or 2D image.

    Args:
        net: 2D network in eval mode, on the target device.
        image: ``[C, *S]`` float32 on the target device (``S`` 2D or 3D).
        slice_axis: Spatial axis indexing slices (3D images only).
        size: Network input size ``[H, W]``.
        batch: Slices per forward pass.
        amp: Autocast dtype or None.

    Returns:
        ``[K, *S]`` float32 probabilities.
    """
    squeeze = image.ndim == 3
    vol = image[:, None] if squeeze else image.movedim(1 + slice_axis % 3, 1)  # [C, N, H, W]
    slices = vol.transpose(0, 1)  # [N, C, H, W]
    native = list(slices.shape[-2:])
    outs = []
    for start in range(0, slices.shape[0], batch):
        x = slices[start: start + batch]
        if native != list(size):
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        with autocast(image.device, amp):
            logits = net(x)
        logits = logits.float()
        if native != list(size):
            logits = F.interpolate(logits, size=native, mode="bilinear", align_corners=False)
        outs.append(logits.softmax(1))
    prob = torch.cat(outs).transpose(0, 1)  # [K, N, H, W]
    return prob[:, 0] if squeeze else prob.movedim(1, 1 + slice_axis % 3)


def gaussian_importance(patch: list[int], sigma_scale: float = 0.125,
                        device: torch.device | None = None) -> Tensor:
    """Separable Gaussian weight map ``[*patch]``, max 1, strictly positive."""
    weight = torch.ones((), device=device)
    for i, p in enumerate(patch):
        coords = torch.arange(p, dtype=torch.float32, device=device) - (p - 1) / 2
        g = torch.exp(-0.5 * (coords / (sigma_scale * p)) ** 2)
        shape = [1] * len(patch)
        shape[i] = p
        weight = weight * g.view(shape)
    return (weight / weight.max()).clamp_min(1e-3)


def _window_starts(size: int, patch: int, overlap: float) -> list[int]:
    if size <= patch:
        return [0]
    step = max(1, int(patch * (1 - overlap)))
    starts = list(range(0, size - patch + 1, step))
    if starts[-1] != size - patch:
        starts.append(size - patch)
    return starts


def _windows(shape: tuple[int, ...], patch: list[int],
             overlap: float) -> Iterator[tuple[slice, ...]]:
    axes = [_window_starts(s, p, overlap) for s, p in zip(shape, patch, strict=True)]
    for starts in itertools.product(*axes):
        yield tuple(slice(s, s + p) for s, p in zip(starts, patch, strict=True))


@torch.no_grad()
def predict_sliding_window(net: nn.Module, image: Tensor, patch: list[int], overlap: float = 0.5,
                           batch: int = 2, amp: torch.dtype | None = None) -> Tensor:
    """Class probabilities of an N-D network by Gaussian-weighted sliding windows.

    Args:
        net: Network in eval mode mapping ``[B, C, *patch]`` to ``[B, K, *patch]``.
        image: ``[C, *S]`` float32 on the target device.
        patch: Window size per spatial axis.
        overlap: Fraction of a window shared with its neighbour.
        batch: Windows per forward pass.
        amp: Autocast dtype or None.

    Returns:
        ``[K, *S]`` float32 probabilities.
    """
    spatial = list(image.shape[1:])
    pad = []
    for s, p in zip(reversed(spatial), reversed(patch), strict=True):
        extra = max(0, p - s)
        pad += [extra // 2, extra - extra // 2]
    padded = F.pad(image, pad) if any(pad) else image
    shape = tuple(padded.shape[1:])
    weight = gaussian_importance(patch, device=image.device)
    acc: Tensor | None = None
    norm = torch.zeros(shape, device=image.device)
    windows = list(_windows(shape, patch, overlap))
    for start in range(0, len(windows), batch):
        group = windows[start: start + batch]
        x = torch.stack([padded[(slice(None), *w)] for w in group])
        with autocast(image.device, amp):
            logits = net(x)
        prob = logits.float().softmax(1)
        if acc is None:
            acc = torch.zeros((prob.shape[1], *shape), device=image.device)
        for w, p in zip(group, prob, strict=True):
            acc[(slice(None), *w)] += p * weight
            norm[w] += weight
    assert acc is not None
    out = acc / norm
    crop = [slice(None)]
    for i, s in enumerate(spatial):
        lo = pad[2 * (len(spatial) - 1 - i)]
        crop.append(slice(lo, lo + s))
    return out[tuple(crop)]


def predict_probabilities(net: nn.Module, image: np.ndarray | Tensor, spatial_dims: int,
                          patch_size: list[int], slice_axis: int, device: torch.device,
                          batch: int = 32, overlap: float = 0.5,
                          amp: torch.dtype | None = None,
                          scale: float | Sequence[float] | None = None,
                          tta: bool = False) -> Tensor:
    """Class probabilities of one case at the image's own spatial shape.

    Args:
        net: Network in eval mode on ``device``.
        image: ``[C, *S]`` normalised float32.
        spatial_dims: The network's dimensionality (2: slice-wise, 3: sliding window).
        patch_size: Training input size.
        slice_axis: Slicing axis for 2D networks on volumes.
        device: Where to compute.
        batch: Slices or windows per forward pass.
        overlap: Sliding-window overlap (3D).
        amp: Autocast dtype or None.
        scale: 3D only: the network was trained on volumes resampled by this factor,
            or these per-axis factors (``data.scale``; ``data.target_spacing``: the
            case's voxel size over the target, :func:`semiseg.data.spacing.resample_factors`);
            the image is resampled likewise and the probabilities back to the native
            grid, so the labels always have the input's shape. None: no resampling.
        tta: Test-time mirroring (nnU-Net's): the mean probability over every
            combination of flips of the in-plane axes (2D networks: 4 passes) or of all
            three axes (3D: 8 passes).

    Returns:
        ``[K, *S]`` float32 probabilities on ``device`` (summing to 1 over ``K``).
    """
    x = torch.as_tensor(image, dtype=torch.float32).to(device)

    def probabilities(x: Tensor) -> Tensor:
        if spatial_dims == 2:
            return predict_slices(net, x, slice_axis, patch_size, batch, amp)
        native = list(x.shape[1:])
        resample = any(f != 1.0 for f in _per_axis(scale, len(native)))
        if resample:
            x = rescale_volume(x, scale)
        prob = predict_sliding_window(net, x, patch_size, overlap, max(1, batch // 16), amp)
        if resample:
            prob = F.interpolate(prob[None], size=native, mode="trilinear",
                                 align_corners=False)[0]
        return prob

    prob = probabilities(x)
    if tta:
        mirrors = mirror_axes(x.ndim - 1, spatial_dims, slice_axis)
        for dims in mirrors[1:]:
            prob += probabilities(x.flip(dims)).flip(dims)
        prob /= len(mirrors)
    return prob


def predict_case(net: nn.Module, image: np.ndarray | Tensor, spatial_dims: int,
                 patch_size: list[int], slice_axis: int, device: torch.device,
                 batch: int = 32, overlap: float = 0.5,
                 amp: torch.dtype | None = None,
                 scale: float | Sequence[float] | None = None,
                 tta: bool = False) -> np.ndarray:
    """Label map of one case, the same shape as the image's spatial shape.

    The arg-max of :func:`predict_probabilities` (same arguments).

    Returns:
        ``[*S]`` uint8 labels.
    """
    prob = predict_probabilities(net, image, spatial_dims, patch_size, slice_axis, device,
                                 batch, overlap, amp, scale, tta)
    return prob.argmax(0).to(torch.uint8).cpu().numpy()


def mirror_axes(image_dims: int, spatial_dims: int, slice_axis: int) -> list[tuple[int, ...]]:
    """Tensor dims of ``[C, *S]`` to flip for each test-time mirror, the identity first.

    A 2D network on a volume mirrors only within the slice (flipping the slice order
    changes nothing slice by slice).
    """
    axes = list(range(image_dims))
    if spatial_dims == 2 and image_dims == 3:
        axes.remove(slice_axis % 3)
    dims = [1 + a for a in axes]
    return [tuple(d for i, d in enumerate(dims) if mask >> i & 1) for mask in range(2 ** len(dims))]


def rescale_volume(image: Tensor, scale: float | Sequence[float],
                   label: bool = False) -> Tensor:
    """Resample ``[C, *S]`` (or a ``[*S]`` label map with ``label``) by ``scale``.

    ``scale``: one factor for every axis, or one per axis. Images trilinearly, labels by
    nearest neighbour; sizes ``round(s * factor)``, at least 1.
    """
    x = image[None, None].float() if label else image[None].float()
    factors = _per_axis(scale, x.ndim - 2)
    size = [max(1, round(s * f)) for s, f in zip(x.shape[2:], factors, strict=True)]
    if label:
        return F.interpolate(x, size=size, mode="nearest-exact")[0, 0].to(image.dtype)
    return F.interpolate(x, size=size, mode="trilinear", align_corners=False)[0]


def _per_axis(scale: float | Sequence[float] | None, ndim: int) -> tuple[float, ...]:
    if scale is None:
        return (1.0,) * ndim
    if isinstance(scale, int | float):
        return (float(scale),) * ndim
    if len(scale) != ndim:
        raise ValueError(f"{len(scale)} resampling factors for {ndim} axes")
    return tuple(float(f) for f in scale)
