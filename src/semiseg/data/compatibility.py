"""Does a scan look like the ones a network was trained on? Checks before prediction.

A network trained on scans of one voxel size and orientation silently degrades on scans
of another: a 3D network trained blind to voxel sizes sees structures at another size
(measured in BENCHMARKS.md: up to 59 Dice points lost at twice the voxel size), and any
network sees a scan stored in another orientation mirrored or turned (its axes in
another order or direction). :class:`InputCheck` learns the training scans' median voxel
size and usual orientation from their file headers, collects the inputs that differ,
and words one warning per kind for ``semiseg predict``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from semiseg.config import DataConfig
from semiseg.data.io import Geometry, axis_codes, read_geometry
from semiseg.data.nnunet import NnUNetDataset
from semiseg.data.spacing import (
    VOXEL_SIZE_TOLERANCE,
    format_mm,
    training_voxel_size,
    voxel_size_differs,
)


def training_reference(cfg: DataConfig, dataset: NnUNetDataset,
                       training_ids: Sequence[str]) -> tuple[list[float] | None, str | None]:
    """``(voxel size, orientation)`` of the scans a network learned from, for :class:`InputCheck`.

    Args:
        cfg: The run's data settings (at ``target_spacing`` no voxel size is checked).
        dataset: The training data set (its headers are read, not its voxels).
        training_ids: The cases the network learned from (the run's labeled cases).
    """
    files = [(path, read_geometry(path))  # each header read once
             for path in (dataset.image_paths(c)[0] for c in training_ids)]
    voxel_size = None if cfg.target_spacing else training_voxel_size(cfg, dataset.root, files)
    return voxel_size, training_orientation([geometry for _, geometry in files])


def training_orientation(geometries: Sequence[Geometry]) -> str | None:
    """The most common orientation of the training scans, or None when none has one."""
    known = Counter(c for c in map(axis_codes, geometries) if c)
    return known.most_common(1)[0][0] if known else None


class InputCheck:
    """The training scans' geometry, and the inputs that differ from it.

    Args:
        voxel_size: The training scans' median voxel size in mm, or None not to check
            voxel sizes (2D networks, networks trained at ``data.target_spacing``, which
            resample every input by its own voxel size; see :func:`training_reference`).
        orientation: Their usual orientation (axis codes such as "RAS"), or None.
    """

    def __init__(self, voxel_size: Sequence[float] | None, orientation: str | None) -> None:
        self.voxel_size = list(voxel_size) if voxel_size else None
        self.orientation = orientation
        self.checked = 0
        self.other_size: list[str] = []
        self.other_orientation: list[str] = []

    def add(self, name: str, geometry: Geometry) -> None:
        """Check one input (``name``: its file, for the warning)."""
        self.checked += 1
        if self.voxel_size and voxel_size_differs(geometry, self.voxel_size):
            self.other_size.append(f"{name} ({format_mm(geometry.spacing)})")
        codes = axis_codes(geometry)
        if self.orientation and codes and codes != self.orientation:
            self.other_orientation.append(f"{name} ({codes})")

    def warnings(self) -> list[str]:
        """One line per kind of difference found (none: empty)."""
        out = []
        if self.other_size and self.voxel_size:
            out.append(
                f"{len(self.other_size)} of {self.checked} images differ by more than "
                f"{VOXEL_SIZE_TOLERANCE:.0%} in voxel size from the training scans' "
                f"{format_mm(self.voxel_size)} (e.g. {self.other_size[0]}), and the network "
                "was trained without data.target_spacing: a 3D network loses accuracy on "
                "them (BENCHMARKS.md, voxel-size normalisation); retrain with "
                "data.target_spacing: median")
        if self.other_orientation:
            out.append(
                f"{len(self.other_orientation)} of {self.checked} images are stored in "
                f"another orientation than the training scans ({self.orientation}; e.g. "
                f"{self.other_orientation[0]}): the network sees them mirrored or turned; "
                f"reorient them to {self.orientation} first (e.g. fslreorient2std, or "
                "nibabel's as_reoriented) and predict again")
        return out
