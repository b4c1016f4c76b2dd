"""Ellipses from masks: robust direct least-squares fit, perimeter, head circumference.

The fit is the numerically stable form (Halir & Flusser, 1998) of Fitzgibbon's direct
least-squares ellipse fit, which always returns an ellipse; outliers (spurs, noise
blobs touching the mask) are trimmed by refitting on the points whose Sampson distance
to the previous fit is small. A filled mask's edge lies between its inner boundary
pixels and the first pixels outside it, so both rings are fitted: the ellipse then
follows the mask's true outline instead of running half a pixel inside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class Ellipse:
    """An ellipse in (x = column, y = row) coordinates of the fitted points' units.

    Attributes:
        cx, cy: Centre.
        a, b: Semi-major and semi-minor axis (``a >= b``).
        theta: Angle of the major axis from the x axis, radians in ``(-pi/2, pi/2]``.
    """

    cx: float
    cy: float
    a: float
    b: float
    theta: float

    @property
    def perimeter(self) -> float:
        """Ramanujan's second approximation (relative error < 4e-5 up to b/a = 0.1)."""
        return ellipse_perimeter(self.a, self.b)


def ellipse_perimeter(a: float, b: float) -> float:
    """Ramanujan II: ``pi (a + b) (1 + 3h / (10 + sqrt(4 - 3h)))``, ``h = ((a-b)/(a+b))^2``."""
    if a + b == 0:
        return 0.0
    h = ((a - b) / (a + b)) ** 2
    return math.pi * (a + b) * (1 + 3 * h / (10 + math.sqrt(4 - 3 * h)))


def _conic(x: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """Conic ``[A, B, C, D, E, F]`` of the direct fit, or None when degenerate."""
    d1 = np.stack([x * x, x * y, y * y], axis=1)
    d2 = np.stack([x, y, np.ones_like(x)], axis=1)
    s1, s2, s3 = d1.T @ d1, d1.T @ d2, d2.T @ d2
    try:
        t = -np.linalg.solve(s3, s2.T)
    except np.linalg.LinAlgError:
        return None
    m = s1 + s2 @ t
    m = np.stack([m[2] / 2, -m[1], m[0] / 2])  # inverse of the constraint matrix applied
    _, vecs = np.linalg.eig(m)
    vecs = np.real(vecs)
    cond = 4 * vecs[0] * vecs[2] - vecs[1] ** 2
    ok = np.flatnonzero(cond > 0)
    if ok.size == 0:
        return None
    a1 = vecs[:, ok[0]]
    return np.concatenate([a1, t @ a1])


def _geometry(conic: np.ndarray) -> tuple[float, float, float, float, float] | None:
    """Centre, semi-axes (major first) and major-axis angle of an ellipse conic."""
    a, b, c, d, e, f = conic
    q = np.array([[a, b / 2], [b / 2, c]])
    try:
        centre = np.linalg.solve(2 * q, -np.array([d, e]))
    except np.linalg.LinAlgError:
        return None
    f0 = f + (d * centre[0] + e * centre[1]) / 2  # conic value at the centre
    vals, vecs = np.linalg.eigh(q)
    radii_sq = -f0 / vals
    if np.any(radii_sq <= 0):
        return None
    radii = np.sqrt(radii_sq)
    major = int(np.argmax(radii))
    vx, vy = vecs[:, major]
    theta = math.atan2(vy, vx)
    if theta <= -math.pi / 2:
        theta += math.pi
    elif theta > math.pi / 2:
        theta -= math.pi
    return float(centre[0]), float(centre[1]), float(radii[major]), float(radii[1 - major]), theta


def _sampson(conic: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """First-order geometric distance of points to the conic."""
    a, b, c, d, e, f = conic
    value = a * x * x + b * x * y + c * y * y + d * x + e * y + f
    gx, gy = 2 * a * x + b * y + d, b * x + 2 * c * y + e
    return np.abs(value) / np.maximum(np.hypot(gx, gy), 1e-12)


def fit_ellipse(x: np.ndarray, y: np.ndarray, trim_rounds: int = 3,
                trim_factor: float = 3.0) -> Ellipse | None:
    """Robust direct least-squares ellipse through points.

    Args:
        x, y: ``[N]`` coordinates (N >= 6).
        trim_rounds: Refits on the points within ``trim_factor`` times the median Sampson
            distance (at least one unit) of the previous fit.
        trim_factor: See ``trim_rounds``.

    Returns:
        The ellipse, or None when the points determine none (too few, collinear).
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.size < 6:
        return None
    mx, my = x.mean(), y.mean()
    scale = max(float(np.sqrt(((x - mx) ** 2 + (y - my) ** 2).mean())), 1e-12)
    xn, yn = (x - mx) / scale, (y - my) / scale  # conditioning
    keep = np.ones(x.size, dtype=bool)
    conic = None
    for _ in range(trim_rounds + 1):
        if keep.sum() < 6:
            break
        new = _conic(xn[keep], yn[keep])
        if new is None:
            break
        conic = new
        dist = _sampson(conic, xn, yn) * scale
        keep = dist <= max(trim_factor * float(np.median(dist[keep])), 1.0)
    if conic is None:
        return None
    geo = _geometry(conic)
    if geo is None:
        return None
    cx, cy, a, b, theta = geo
    return Ellipse(cx * scale + mx, cy * scale + my, a * scale, b * scale, theta)


def edge_points(mask: np.ndarray, spacing: tuple[float, float] = (1.0, 1.0)
                ) -> tuple[np.ndarray, np.ndarray]:
    """Pixels on both sides of a 2D mask's outline, as ``(x, y)`` in spacing units.

    Args:
        mask: ``(H, W)`` bool.
        spacing: Pixel size ``(row, column)``.
    """
    inner = mask & ~ndimage.binary_erosion(mask, border_value=0)
    outer = ndimage.binary_dilation(mask) & ~mask
    rows, cols = np.nonzero(inner | outer)
    return cols * spacing[1], rows * spacing[0]


def largest_blob(mask: np.ndarray) -> np.ndarray:
    """The largest 8-connected component of a 2D mask (empty stays empty)."""
    labels, n = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    if n <= 1:
        return mask.astype(bool)
    return labels == np.argmax(np.bincount(labels.ravel())[1:]) + 1


def mask_ellipse(mask: np.ndarray, spacing: tuple[float, float] = (1.0, 1.0)
                 ) -> Ellipse | None:
    """Ellipse fitted to the outline of a mask's largest component (spacing units).

    None for an empty mask, and for a degenerate fit whose semi-axis exceeds the image
    diagonal (a few collinear pixels fit a needle kilometres long; no head is larger
    than the image that shows part of it).
    """
    blob = largest_blob(np.asarray(mask) > 0)
    if not blob.any():
        return None
    ellipse = fit_ellipse(*edge_points(blob, spacing))
    diagonal = math.hypot(blob.shape[0] * spacing[0], blob.shape[1] * spacing[1])
    if ellipse is None or max(ellipse.a, ellipse.b) > diagonal:
        return None
    return ellipse


def head_circumference(mask: np.ndarray, spacing: tuple[float, float] = (1.0, 1.0)) -> float:
    """Perimeter of the ellipse fitted to the mask: the head circumference (HC18).

    In spacing units (mm for a pixel size in mm); NaN for an empty or degenerate mask.
    """
    ellipse = mask_ellipse(mask, spacing)
    return float("nan") if ellipse is None else ellipse.perimeter


def elliptic_radius(shape: tuple[int, int], ellipse: Ellipse) -> np.ndarray:
    """``(H, W)`` elliptic radius of every pixel centre: 0 at the centre, 1 on the ellipse."""
    rows, cols = np.mgrid[:shape[0], :shape[1]].astype(np.float64)
    dx, dy = cols - ellipse.cx, rows - ellipse.cy
    c, s = math.cos(ellipse.theta), math.sin(ellipse.theta)
    u, v = dx * c + dy * s, -dx * s + dy * c
    return np.sqrt((u / ellipse.a) ** 2 + (v / ellipse.b) ** 2)


def draw_ellipse(shape: tuple[int, int], ellipse: Ellipse) -> np.ndarray:
    """Filled ``(H, W)`` bool mask of pixel centres inside the ellipse (pixel units)."""
    return elliptic_radius(shape, ellipse) <= 1.0
