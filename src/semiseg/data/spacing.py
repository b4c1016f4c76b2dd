"""Voxel-size normalisation of 3D volumes: which resampling each case gets.

A 3D network learns structures at the size in voxels it sees them. Scans from different
scanners or protocols differ in voxel size, so the same atrium or tumour spans different
numbers of voxels unless every volume is resampled to one voxel size first (nnU-Net's
"target spacing", by default the median over the training scans). Training volumes are
resampled once at load; at inference each case is resampled by its own factors and the
probabilities back to its native grid (:func:`semiseg.inference.predict_probabilities`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from semiseg.config import DataConfig
from semiseg.data.io import Geometry, read_geometry
from semiseg.data.nnunet import NnUNetDataset
from semiseg.errors import DataError


def resample_factors(cfg: DataConfig, geometry: Geometry | None,
                     name: str) -> tuple[float, ...] | None:
    """Per-axis resampling factors of one volume (new size = native size x factor).

    Args:
        cfg: The run's data settings (``target_spacing`` resolved, or ``scale``).
        geometry: The case's geometry (its voxel size); may be None without a target.
        name: The case's file or id, for error messages.

    Returns:
        ``native spacing / target spacing`` per axis with ``data.target_spacing``,
        ``scale`` on every axis with ``data.scale`` != 1, else None (2D networks too:
        their slices are resized to the patch size anyway).

    Raises:
        DataError: a target voxel size is set but the case's file carries none.
    """
    if cfg.spatial_dims != 3:
        return None
    target = cfg.target_spacing
    if isinstance(target, str) and target:
        raise ValueError("data.target_spacing 'median' must be resolved before loading "
                         "(resolve_target_spacing)")
    if target:
        if geometry is None or not geometry.spacing_known:
            raise DataError(f"{name}: the file carries no voxel size, which "
                            "data.target_spacing needs (set one in the file, or use "
                            "data.scale instead)")
        if len(geometry.spacing) != len(target):
            raise DataError(f"{name}: {len(geometry.spacing)} voxel sizes, "
                            f"data.target_spacing has {len(target)}")
        return tuple(s / t for s, t in zip(geometry.spacing, target, strict=True))
    return None if cfg.scale == 1.0 else (cfg.scale,) * 3


def median_spacing(dataset: NnUNetDataset, case_ids: Sequence[str]) -> list[float]:
    """Per-axis median voxel size (mm) over ``case_ids``, from the file headers only.

    Raises:
        DataError: a file without a voxel size, or not 3D (naming it).
    """
    files = [dataset.image_paths(c)[0] for c in case_ids]
    return median_of(dataset.root, [(f, read_geometry(f)) for f in files])


def median_of(root: Path, files: Sequence[tuple[Path, Geometry]]) -> list[float]:
    """Per-axis median voxel size (mm) of already read ``(file, geometry)`` pairs.

    Raises:
        DataError: a file without a voxel size, or not 3D (naming it); no file at all
            (naming the data set ``root``).
    """
    spacings = []
    for path, geometry in files:
        if not geometry.spacing_known:
            raise DataError(f"{path}: the file carries no voxel size, which "
                            "data.target_spacing 'median' needs for every training scan")
        if len(geometry.spacing) != 3:
            raise DataError(f"{path}: {len(geometry.spacing)}D image, a voxel size "
                            "target needs 3D volumes")
        spacings.append(geometry.spacing)
    if not spacings:
        raise DataError(f"{root}: no training scans to take a median voxel size of")
    return [round(float(v), 6) for v in np.median(np.asarray(spacings), axis=0)]


def resolve_target_spacing(cfg: DataConfig, dataset: NnUNetDataset,
                           training_ids: Sequence[str]) -> None:
    """Replace ``target_spacing: median`` in ``cfg`` by the numbers (in place).

    Done once when a run starts, before its config is written, so that a resumed run,
    ``evaluate`` and ``predict`` use the same voxel size the network was trained at.
    """
    if cfg.spatial_dims == 3 and cfg.target_spacing == "median":
        cfg.target_spacing = median_spacing(dataset, training_ids)


# relative voxel-size difference on any axis beyond which a scan counts as "another size"
VOXEL_SIZE_TOLERANCE = 0.15


def training_voxel_size(cfg: DataConfig, root: Path,
                        files: Sequence[tuple[Path, Geometry]]) -> list[float] | None:
    """The median voxel size of the training scans' ``(file, geometry)`` for a 3D network.

    None for 2D networks (their slices are resized anyway) and when a scan carries no
    voxel size.
    """
    if cfg.spatial_dims != 3:
        return None
    try:
        return median_of(root, files)
    except DataError:
        return None


def voxel_size_differs(geometry: Geometry, reference: Sequence[float]) -> bool:
    """Whether a known voxel size is off ``reference`` by more than the tolerance.

    True when some axis differs by more than :data:`VOXEL_SIZE_TOLERANCE` (relative).
    """
    if not geometry.spacing_known or len(geometry.spacing) != len(reference):
        return False
    return any(abs(s - r) > VOXEL_SIZE_TOLERANCE * r
               for s, r in zip(geometry.spacing, reference, strict=True))


def format_mm(spacing: Sequence[float]) -> str:
    """``"1.5 x 1.5 x 8 mm"``."""
    return " x ".join(f"{s:.3g}" for s in spacing) + " mm"
