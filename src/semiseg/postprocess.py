"""Connected-component post-processing of predicted label maps (nnU-Net's kind).

A network that has learned the anatomy still predicts the odd island far from it (a
second "heart" in the field of view, a speck of atrium in the aorta); one island ruins
HD95 and ASD and shifts volumes. Keeping the largest connected component removes them:

- ``largest_foreground``: the largest component of the union of all foreground
  classes survives with its class labels; everything outside it becomes background.
  Right where the structures touch each other (the heart's RV, myocardium and LV).
- ``largest_per_class``: each class keeps only its own largest component. Right where
  every class is one blob; it can cut a structure that is legitimately split in the
  image (e.g. an RV cut into two by the slice plane).

Components are connected through faces, edges and corners (full connectivity), so that a
structure thin across thick slices stays one component. An empty map stays empty.
"""

from __future__ import annotations

import numpy as np

POSTPROCESS_MODES = ("none", "largest_foreground", "largest_per_class")


def _largest(mask: np.ndarray) -> np.ndarray:
    """The largest fully connected component of a boolean mask ``[*S]`` (ties: first)."""
    from scipy import ndimage  # here: the config imports this module's mode names

    components, count = ndimage.label(mask, structure=np.ones((3,) * mask.ndim, bool))
    if count <= 1:
        return mask
    sizes = np.bincount(components.ravel())
    sizes[0] = 0
    return components == int(sizes.argmax())


def postprocess_labels(labels: np.ndarray, mode: str) -> np.ndarray:
    """Apply a post-processing ``mode`` (one of :data:`POSTPROCESS_MODES`) to a label map.

    Args:
        labels: ``[*S]`` integer labels, 0 = background (2D or 3D).
        mode: "none" (returned unchanged), "largest_foreground" or "largest_per_class".

    Returns:
        ``[*S]`` labels of the same dtype; removed voxels are background.
    """
    if mode == "none":
        return labels
    if mode not in POSTPROCESS_MODES:
        raise ValueError(f"postprocess mode {mode!r}: expected one of {POSTPROCESS_MODES}")
    out = labels.copy()
    if mode == "largest_foreground":
        out[~_largest(labels > 0)] = 0
        return out
    for cls in np.unique(labels):
        if cls == 0:
            continue
        mask = labels == cls
        out[mask & ~_largest(mask)] = 0
    return out
