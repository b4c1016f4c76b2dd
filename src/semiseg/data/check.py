"""``semiseg data check``: every problem of a data set at once, structure then content.

:func:`semiseg.data.nnunet.open_dataset` stops at the first structural problem; this
reads every case as well and adds warnings (prefixed ``warning:``) for what training
would silently get wrong: empty masks, duplicate scans, missing voxel sizes, mixed
orientations, voxel sizes that differ between cases.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path

import numpy as np

from semiseg.data.io import axis_codes
from semiseg.data.nnunet import UNLABELED_FOLDER, Case, NnUNetDataset, scan_dataset
from semiseg.data.splits import split_file, ungrouped_patients_hint
from semiseg.errors import DataError

# Relative spread of one axis's voxel size between training cases beyond which the
# data set is called mixed. Tighter than the 15 % at which ``predict`` calls one new
# scan "another size" (semiseg.data.spacing.VOXEL_SIZE_TOLERANCE): here the advice
# (resample with data.target_spacing) costs nothing to follow before training, there
# a warning on every routine scan would be noise.
SPACING_SPREAD_TOLERANCE = 0.1


def _spacing_spread(spacings: list[tuple[float, ...]],
                    tolerance: float = SPACING_SPREAD_TOLERANCE) -> str:
    """Axes whose voxel size varies by more than ``tolerance`` (relative) between cases.

    Returns:
        ``"axis 0: 0.62-1.25 mm, ..."``, or "" when they agree (or differ in dimension).
    """
    if len({len(s) for s in spacings}) != 1:
        return ""
    table = np.asarray(spacings)
    low, high = table.min(0), table.max(0)
    return ", ".join(f"axis {i}: {lo:.3g}-{hi:.3g} mm"
                     for i, (lo, hi) in enumerate(zip(low, high, strict=True))
                     if hi > lo * (1 + tolerance))


def _geometry_warnings(dataset: NnUNetDataset, no_spacing: list[str],
                       spacings: list[tuple[float, ...]],
                       orientations: dict[str | None, list[str]]) -> list[str]:
    """One line per data-set-wide geometry problem of the training cases.

    Args:
        dataset: The data set.
        no_spacing: Cases whose NIfTI carries no voxel size.
        spacings: Voxel sizes of the 3D cases that carry one.
        orientations: Axis codes -> cases (None: files without geometry).
    """
    out = []
    if no_spacing:  # one line for the data set: it is usually all or nothing
        out.append(f"warning: {dataset.root}: {len(no_spacing)} of "
                   f"{len(dataset.training_cases)} cases carry no voxel size (identity "
                   f"affine, e.g. {no_spacing[0]}): HD95/ASD and volumes will be in "
                   "voxels, not mm")
    known = sorted(((c, ids) for c, ids in orientations.items() if c),
                   key=lambda kv: -len(kv[1]))
    if len(known) > 1:
        out.append(f"warning: {dataset.root}: cases are stored in {len(known)} orientations ("
                   + ", ".join(f"{codes}: {len(ids)}, e.g. {ids[0]}" for codes, ids in known)
                   + "); a network sees the minority mirrored or turned: reorient them to "
                   f"{known[0][0]} first")
    spread = _spacing_spread(spacings)
    if spread:
        out.append(f"warning: {dataset.root}: voxel sizes differ between cases ({spread}); "
                   "a 3D network sees each structure at several sizes unless volumes are "
                   "resampled to one: data.target_spacing: median")
    return out


def check_dataset(root: str | Path, load: bool = True) -> list[str]:
    """All problems of a data set at once: structure, then every case's content.

    Args:
        root: Data set folder.
        load: Also read every case (corrupt files, shapes, geometry, NaN, label values,
            empty labels are reported as warnings prefixed ``warning:``).
    """
    try:
        dataset, problems = scan_dataset(root)
    except DataError as err:
        return [str(err)]
    if not load:
        return problems
    bad = {p.split(":")[0] for p in problems}
    seen: dict[str, str] = {}

    def note_duplicate(case: Case) -> None:
        # a copied scan in two cases leaks between labeled/unlabeled/val
        digest = hashlib.sha1(case.image.tobytes()).hexdigest()
        if digest in seen:
            problems.append(f"warning: {dataset.image_paths(case.case_id)[0]}: same image as "
                            f"case {seen[digest]!r} (duplicate case)")
        seen.setdefault(digest, case.case_id)

    no_spacing: list[str] = []
    spacings: list[tuple[float, ...]] = []
    orientations: dict[str | None, list[str]] = defaultdict(list)
    for case_id in dataset.training_cases:
        if str(dataset.label_path(case_id)) in bad:
            continue
        try:
            case = dataset.load_case(case_id)
        except DataError as err:
            problems.append(str(err))
            continue
        if case.label is not None and not case.label.any():
            problems.append(f"warning: {dataset.label_path(case_id)}: label is empty "
                            "(background only)")
        if dataset.file_ending != ".png" and not case.geometry.spacing_known:
            no_spacing.append(case_id)
        elif case.image.ndim == 4:
            spacings.append(case.geometry.spacing)
        orientations[axis_codes(case.geometry)].append(case_id)
        note_duplicate(case)
    problems += _geometry_warnings(dataset, no_spacing, spacings, orientations)
    hint = ungrouped_patients_hint(dataset.training_cases, split_source=split_file(dataset.root))
    if hint:
        problems.append(f"warning: {dataset.root}: {hint}")
    for case_id, folder in [*((c, "imagesTs") for c in dataset.test_cases),
                            *((c, UNLABELED_FOLDER) for c in dataset.unlabeled_cases)]:
        try:
            case = dataset.load_case(case_id, with_label=False, folder=folder)
        except DataError as err:
            problems.append(str(err))
            continue
        if folder == UNLABELED_FOLDER:
            note_duplicate(case)
    return problems
