"""Surface distances exactly as medpy.metric.binary computes them (HD95, ASD, ASSD).

medpy's convention, kept here: the surface of a mask is the mask minus its erosion by the
connectivity-1 structuring element (border value 0); distances are Euclidean distance
transforms with the voxel spacing; HD95 is the 95th percentile (numpy's linear
interpolation) of both directed distance sets pooled; ASD is the mean of the distances
from the prediction's surface to the truth's (one direction, medpy's ``asd``); ASSD is the
mean of both directed distance sets pooled (medpy 0.5.2's ``assd``).

Computation is restricted to the bounding box of both masks plus one voxel, which gives
identical values (every surface voxel lies inside it) at a fraction of the cost.

Empty masks (medpy raises): both empty gives 0 for every distance; exactly one empty
gives ``empty_value`` (the image diagonal by default: the worst possible distance).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage


def _crop_to_union(pred: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    coords = np.nonzero(pred | truth)
    slices, pads = [], []
    for axis, size in enumerate(pred.shape):
        lo, hi = int(coords[axis].min()) - 1, int(coords[axis].max()) + 2
        slices.append(slice(max(lo, 0), min(hi, size)))
        pads.append((max(-lo, 0), max(hi - size, 0)))
    crop = tuple(slices)
    return np.pad(pred[crop], pads), np.pad(truth[crop], pads)


def _surface(mask: np.ndarray) -> np.ndarray:
    footprint = ndimage.generate_binary_structure(mask.ndim, 1)
    return mask ^ ndimage.binary_erosion(mask, structure=footprint, iterations=1)


def directed_surface_distances(pred: np.ndarray, truth: np.ndarray,
                               spacing: Sequence[float] | None = None) -> np.ndarray:
    """Distances from each surface voxel of ``pred`` to the nearest of ``truth``'s surface.

    Both masks must be non-empty.
    """
    pred_border = _surface(pred)
    dist = ndimage.distance_transform_edt(~_surface(truth), sampling=spacing)
    return dist[pred_border]


def surface_metrics(pred: np.ndarray, truth: np.ndarray, spacing: Sequence[float] | None = None,
                    empty_value: float | None = None) -> dict[str, float]:
    """HD95, ASD (pred -> truth) and ASSD (both directions pooled) of two binary masks.

    Args:
        pred: Binary mask ``[*S]``.
        truth: Binary mask ``[*S]``.
        spacing: Voxel size per axis; None means 1 (voxel units).
        empty_value: Value when exactly one mask is empty; None means the image diagonal
            in the same units.
    """
    pred, truth = pred.astype(bool), truth.astype(bool)
    p_any, t_any = pred.any(), truth.any()
    if not p_any and not t_any:
        return {"hd95": 0.0, "asd": 0.0, "assd": 0.0}
    if not (p_any and t_any):
        if empty_value is None:
            sp = np.ones(pred.ndim) if spacing is None else np.asarray(spacing, dtype=float)
            empty_value = float(np.sqrt((((np.asarray(pred.shape) - 1) * sp) ** 2).sum()))
        return {"hd95": empty_value, "asd": empty_value, "assd": empty_value}
    pred, truth = _crop_to_union(pred, truth)
    d_pt = directed_surface_distances(pred, truth, spacing)
    d_tp = directed_surface_distances(truth, pred, spacing)
    return {
        "hd95": float(np.percentile(np.hstack((d_pt, d_tp)), 95)),
        "asd": float(d_pt.mean()),
        "assd": float(np.concatenate((d_pt, d_tp)).mean()),
    }
