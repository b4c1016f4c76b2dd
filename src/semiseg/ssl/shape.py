"""Ellipse shape priors for pseudo-labels of elliptic structures (ERSR, fetal heads).

- :func:`shape_scores`: how much a predicted mask looks like one clean ellipse, as two
  scores in [0, 1]: boundary consistency (IoU of the mask with the ellipse fitted to its
  outline) and contour regularity (share of the foreground in the largest component,
  times the ellipse perimeter over the mask's contour length, at most 1: holes,
  fragments and ragged edges lengthen the contour).
- :func:`ellipse_label`: the filled fitted ellipse as a refined pseudo-label, with voxel
  weights that trust the interior (near the centre) fully and fade toward the outline,
  where a fitted ellipse and the true head differ most.
- :func:`mirror_grid`: a sampling grid that reflects an image about an ellipse axis, for
  symmetry consistency.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import ndimage
from torch import Tensor

from semiseg.metrics.ellipse import (
    Ellipse,
    draw_ellipse,
    largest_blob,
    mask_ellipse,
)


def contour_length(mask: np.ndarray) -> float:
    """Number of pixel edges between the mask and its complement (4-neighbourhood)."""
    m = np.pad(mask.astype(np.int8), 1)
    return float(np.abs(np.diff(m, axis=0)).sum() + np.abs(np.diff(m, axis=1)).sum())


def shape_scores(mask: np.ndarray) -> tuple[float, float, Ellipse | None]:
    """Boundary-consistency and contour-regularity scores of a 2D mask, and its ellipse.

    Args:
        mask: ``(H, W)`` bool.

    Returns:
        ``(boundary, regularity, ellipse)``; ``(0, 0, None)`` for an empty mask or one no
        ellipse fits.
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return 0.0, 0.0, None
    ellipse = mask_ellipse(mask)
    if ellipse is None or not (ellipse.a > 0 and ellipse.b > 0):
        return 0.0, 0.0, None
    filled = draw_ellipse(mask.shape, ellipse)
    union = np.logical_or(mask, filled).sum()
    boundary = float(np.logical_and(mask, filled).sum() / union) if union else 0.0
    largest = largest_blob(mask)
    holes = ndimage.binary_fill_holes(largest) & ~largest
    compact = largest.sum() / mask.sum()
    # the ideal contour of the (pixelised) ellipse: a digital outline is ~4/pi longer
    ideal = ellipse.perimeter * 4 / math.pi
    smooth = min(1.0, ideal / max(contour_length(mask) + contour_length(holes), 1.0))
    return boundary, float(compact * smooth), ellipse


def ellipse_label(radius: np.ndarray, band: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Filled ellipse and voxel weights in [0.5, 1] rising from the outline inward/outward.

    Args:
        radius: ``(H, W)`` elliptic radius of the fitted ellipse
            (:func:`semiseg.metrics.ellipse.elliptic_radius`: 0 at the centre, 1 on it).
        band: Width of the down-weighted band around the outline, in elliptic radius.

    The weight is ``0.5 + 0.5 min(1, |1 - r| / band)``: 1 deep inside (the centre is
    strengthened) and far outside, 0.5 on the outline, where fitting noise lives.
    """
    r = radius
    weight = 0.5 + 0.5 * np.minimum(1.0, np.abs(1 - r) / band)
    return r <= 1.0, weight.astype(np.float32)


def mirror_grid(ellipse: Ellipse, shape: tuple[int, int], axis: str = "major",
                device: torch.device | str = "cpu") -> Tensor:
    """``grid_sample`` grid ``[1, H, W, 2]`` reflecting about an axis of the ellipse.

    Pixel ``p`` reads ``c + R (p - c)`` with ``R = 2 u u^T - I`` for the unit direction ``u``
    of the chosen axis through the centre ``c`` (``align_corners=True`` coordinates).
    """
    theta = ellipse.theta if axis == "major" else ellipse.theta + math.pi / 2
    ux, uy = math.cos(theta), math.sin(theta)
    h, w = shape
    rows, cols = torch.meshgrid(torch.arange(h, dtype=torch.float32, device=device),
                                torch.arange(w, dtype=torch.float32, device=device),
                                indexing="ij")
    dx, dy = cols - ellipse.cx, rows - ellipse.cy
    along = dx * ux + dy * uy
    mx, my = ellipse.cx + 2 * along * ux - dx, ellipse.cy + 2 * along * uy - dy
    grid = torch.stack([2 * mx / max(w - 1, 1) - 1, 2 * my / max(h - 1, 1) - 1], dim=-1)
    return grid.unsqueeze(0)
