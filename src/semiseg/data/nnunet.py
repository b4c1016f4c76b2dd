"""nnU-Net v2 raw data sets: ``dataset.json``, ``imagesTr``, ``labelsTr``, ``imagesTs``.

One addition for semi-supervised data: ``imagesUnlabeled/`` holds training scans that
have no mask (same file naming as ``imagesTr``). nnU-Net itself ignores the folder, and
semiseg puts its scans into the unlabeled part of every split; every ``imagesTr`` case
still needs its label, so a forgotten mask stays an error instead of silently becoming
an unlabeled scan.

Everything the toolkit knows about a data set (classes, channels, file type, spacing)
comes from here; nothing about a particular data set is written in code.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from semiseg.data.io import Geometry, read_image, read_json_object
from semiseg.errors import DataError

SUPPORTED_ENDINGS = (".nii.gz", ".nii", ".png")
UNLABELED_FOLDER = "imagesUnlabeled"  # training scans without masks (semiseg's addition)
_CHANNEL_RE = re.compile(r"^(?P<case>.+)_(?P<ch>\d{4})$")


@dataclass
class Case:
    """One loaded case.

    Attributes:
        case_id: nnU-Net case identifier (file stem without channel suffix).
        image: float32 ``[C, *S]`` (``S`` = (x, y, z) for NIfTI, (H, W) for PNG).
        label: uint8 ``[*S]`` or None for unlabeled / test cases.
        geometry: Geometry of the first channel file, used to write predictions.
        info: The case's row of the data set's case table (numbers by column name, e.g.
            ``pixel_size_mm``, ``head_circumference_mm``); empty without one.
    """

    case_id: str
    image: np.ndarray
    label: np.ndarray | None
    geometry: Geometry
    info: dict[str, float] = field(default_factory=dict)


@dataclass
class NnUNetDataset:
    """An nnU-Net v2 raw data set on disk (nothing is loaded until asked).

    Attributes:
        root: Data set folder.
        labels: Class name -> integer value, values 0..K-1, background 0.
        channel_names: One name per input channel.
        file_ending: ".nii.gz", ".nii" or ".png".
        training_cases: Case ids in imagesTr (each with its label), sorted.
        test_cases: Case ids in imagesTs, sorted.
        unlabeled_cases: Case ids in imagesUnlabeled (training scans without a mask), sorted.
        meta: The whole dataset.json.
        case_info: Per-case numbers from a case table (see :func:`read_case_table`).
        channel_suffix: Image files carry nnU-Net's ``_XXXX`` channel suffix. False only
            for a folder of new single-channel scans named ``<case><ending>`` (see
            :func:`plain_named_cases`), as exported from a scanner or PACS.
    """

    root: Path
    labels: dict[str, int]
    channel_names: list[str]
    file_ending: str
    training_cases: list[str]
    test_cases: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    unlabeled_cases: list[str] = field(default_factory=list)
    case_info: dict[str, dict[str, float]] = field(default_factory=dict)
    channel_suffix: bool = True

    @property
    def num_classes(self) -> int:
        """Number of classes including background."""
        return len(self.labels)

    @property
    def num_channels(self) -> int:
        """Number of input channels."""
        return len(self.channel_names)

    @property
    def class_names(self) -> list[str]:
        """Names ordered by label value."""
        return [name for name, _ in sorted(self.labels.items(), key=lambda kv: kv[1])]

    @property
    def has_head_reference(self) -> bool:
        """The case table gives reference head circumferences (a fetal-head data set)."""
        return any("head_circumference_mm" in v for v in self.case_info.values())

    @property
    def is_2d_images(self) -> bool:
        """True for PNG data sets (each case is one 2D image)."""
        return self.file_ending == ".png"

    def folder_of(self, case_id: str) -> str:
        """Where a training case's images are: ``imagesUnlabeled`` or ``imagesTr``."""
        return UNLABELED_FOLDER if case_id in self._unlabeled_set else "imagesTr"

    @cached_property
    def _unlabeled_set(self) -> frozenset[str]:
        return frozenset(self.unlabeled_cases)

    def image_paths(self, case_id: str, folder: str | None = None) -> list[Path]:
        """Channel files of a case, ``<folder>/<case>_<XXXX><ending>``.

        ``folder`` defaults to the case's own (:meth:`folder_of`). Without
        ``channel_suffix``: the one file ``<folder>/<case><ending>``.
        """
        folder = folder or self.folder_of(case_id)
        if not self.channel_suffix:
            return [self.root / folder / f"{case_id}{self.file_ending}"]
        return [
            self.root / folder / f"{case_id}_{c:04d}{self.file_ending}"
            for c in range(self.num_channels)
        ]

    def label_path(self, case_id: str) -> Path:
        """Label file of a training case."""
        return self.root / "labelsTr" / f"{case_id}{self.file_ending}"

    def load_case(self, case_id: str, with_label: bool = True, folder: str | None = None) -> Case:
        """Read and check one case (from its own folder unless ``folder`` is given).

        Raises:
            DataError: missing or corrupt files, shape or geometry mismatch, NaN/inf,
                undeclared label values, a label asked of a scan without one; the
                message names the file.
        """
        folder = folder or self.folder_of(case_id)
        if with_label and folder == UNLABELED_FOLDER:
            raise DataError(f"{self.image_paths(case_id, folder)[0]}: scan without a label "
                            f"({UNLABELED_FOLDER}) used where a label is needed")
        channels: list[np.ndarray] = []
        geometry: Geometry | None = None
        for path in self.image_paths(case_id, folder):
            array, geo = read_image(path)
            if self.is_2d_images and array.ndim == 3:  # colour PNG: one file, several channels
                array = np.moveaxis(array[..., :3], -1, 0)
            else:
                array = array[None]
            if not np.isfinite(array).all():
                raise DataError(f"{path}: image contains NaN or inf values")
            if geometry is None:
                geometry = geo
            elif array.shape[1:] != channels[0].shape[1:]:
                raise DataError(
                    f"{path}: shape {array.shape[1:]} differs from channel 0 "
                    f"{channels[0].shape[1:]}"
                )
            else:
                _check_same_geometry(path, geo, geometry)
            channels.append(array.astype(np.float32))
        image = np.concatenate(channels, axis=0)
        assert geometry is not None
        if image.shape[0] != self.num_channels:
            raise DataError(
                f"{self.image_paths(case_id, folder)[0]}: {image.shape[0]} channels, "
                f"dataset.json declares {self.num_channels}"
            )
        if image.ndim - 1 not in (2, 3):
            raise DataError(f"{self.image_paths(case_id, folder)[0]}: {image.ndim - 1}D image, "
                            "expected 2D or 3D")
        info = self.case_info.get(case_id, {})
        if "pixel_size_mm" in info and not geometry.spacing_known:
            # the file carries no spacing (PNG): the case table's isotropic pixel size
            geometry = replace(geometry, spacing=(info["pixel_size_mm"],) * (image.ndim - 1),
                               spacing_known=True)
        label = self._load_label(case_id, image.shape[1:], geometry) if with_label else None
        return Case(case_id=case_id, image=image, label=label, geometry=geometry, info=info)

    def _load_label(self, case_id: str, shape: tuple[int, ...], geometry: Geometry) -> np.ndarray:
        path = self.label_path(case_id)
        array, geo = read_image(path)
        if array.ndim != len(shape):
            raise DataError(f"{path}: label has {array.ndim} dimensions, image has {len(shape)}")
        if array.shape != shape:
            raise DataError(f"{path}: label shape {array.shape} differs from image shape {shape}")
        _check_same_geometry(path, geo, geometry)
        if not np.isfinite(array).all():
            raise DataError(f"{path}: label contains NaN or inf values")
        if not np.array_equal(array, np.round(array)):
            raise DataError(f"{path}: label has non-integer values")
        values = np.unique(array).astype(np.int64)
        unknown = sorted(set(values.tolist()) - set(self.labels.values()))
        if unknown:
            raise DataError(
                f"{path}: label values {unknown} are not declared in dataset.json "
                f"(declared: {sorted(self.labels.values())})"
            )
        return array.astype(np.uint8)


def _check_same_geometry(path: Path, geo: Geometry, ref: Geometry) -> None:
    if geo.affine is None or ref.affine is None:
        return
    if not np.allclose(geo.affine, ref.affine, atol=1e-3, rtol=1e-4):
        raise DataError(f"{path}: affine differs from the case's first image file")


def read_dataset_json(root: Path) -> dict[str, Any]:
    """Parse ``root/dataset.json`` with one-line errors."""
    if not root.is_dir():
        raise DataError(f"{root}: data set folder does not exist")
    return read_json_object(root / "dataset.json",
                            "missing (an nnU-Net data set needs dataset.json)")


def _parse_labels(path: Path, raw: Any) -> dict[str, int]:
    if not isinstance(raw, dict) or not raw:
        raise DataError(f"{path}: 'labels' must map class names to integer values")
    labels: dict[str, int] = {}
    for name, value in raw.items():
        if isinstance(value, list | tuple):
            raise DataError(f"{path}: label {name!r}: region-based labels are not supported")
        if not isinstance(value, int) or isinstance(value, bool):
            raise DataError(f"{path}: label {name!r} has non-integer value {value!r}")
        labels[str(name)] = value
    if sorted(labels.values()) != list(range(len(labels))):
        raise DataError(
            f"{path}: label values must be 0..{len(labels) - 1} without gaps, "
            f"got {sorted(labels.values())}"
        )
    return labels


def list_cases(root: Path, folder: str, ending: str, num_channels: int,
               strict: bool = True) -> tuple[list[str], list[str]]:
    """Case ids with all channel files, and problems (missing channels, stray files).

    ``strict=False`` (a folder of new scans rather than a data set's) passes over files
    that do not end in ``ending`` (lists, notes) instead of reporting them.
    """
    directory = root / folder
    if not directory.is_dir():
        return [], []
    problems: list[str] = []
    channels_of: dict[str, set[int]] = {}
    for path in sorted(directory.iterdir()):
        if path.name.startswith("."):
            continue
        if not path.name.endswith(ending):
            if strict:
                problems.append(f"{path}: unexpected file (expected <case>_XXXX{ending})")
            continue
        match = _CHANNEL_RE.match(path.name[: -len(ending)])
        if match is None:
            problems.append(f"{path}: name lacks the _XXXX channel suffix (<case>_0000{ending})")
            continue
        channels_of.setdefault(match["case"], set()).add(int(match["ch"]))
    cases = []
    for case, chans in sorted(channels_of.items()):
        expected = set(range(num_channels))
        if chans - expected:
            problems.append(f"{directory / case}: channel files {sorted(chans - expected)} "
                            f"beyond the {num_channels} declared in dataset.json")
        if expected - chans:
            problems.append(f"{directory / case}_{min(expected - chans):04d}{ending}: missing "
                            "channel file")
        else:
            cases.append(case)
    return cases, problems


def plain_named_cases(directory: Path, ending: str) -> list[str]:
    """Case ids of a folder whose images all lack the ``_XXXX`` channel suffix.

    A folder of new scans exported as ``<case><ending>`` (one file, one channel each);
    empty when any image has the suffix (the folder follows nnU-Net's naming) or there
    is none.
    """
    names = [p.name[: -len(ending)] for p in sorted(directory.iterdir())
             if p.name.endswith(ending) and not p.name.startswith(".")]
    if any(_CHANNEL_RE.match(n) for n in names):
        return []
    return names


def parse_dataset_json(meta: dict[str, Any], path: Path) -> tuple[dict[str, int], list[str], str]:
    """Labels, channel names (in channel order) and file ending of a ``dataset.json``.

    Args:
        meta: Its content.
        path: Where it was read from (for messages).

    Raises:
        DataError: a missing key or a malformed entry, naming ``path``.
    """
    for key in ("labels", "channel_names", "file_ending"):
        if key not in meta:
            raise DataError(f"{path}: missing key {key!r}")
    ending = meta["file_ending"]
    if ending not in SUPPORTED_ENDINGS:
        raise DataError(f"{path}: file_ending {ending!r} not supported ({SUPPORTED_ENDINGS})")
    raw_channels = meta["channel_names"]
    if not isinstance(raw_channels, dict) or not raw_channels:
        raise DataError(f"{path}: 'channel_names' must map '0', '1', ... to names")
    try:
        order = sorted(raw_channels, key=int)
    except ValueError:
        raise DataError(f"{path}: channel_names keys must be '0', '1', ...") from None
    if [int(k) for k in order] != list(range(len(order))):
        raise DataError(f"{path}: channel_names keys must be 0..{len(order) - 1}")
    channels = [str(raw_channels[k]) for k in order]
    return _parse_labels(path, meta["labels"]), channels, ending


def scan_dataset(root: str | Path) -> tuple[NnUNetDataset, list[str]]:
    """Read dataset.json and list the case files, collecting every problem found.

    Returns:
        ``(dataset, problems)``; problems are one-line messages naming the file.

    Raises:
        DataError: dataset.json itself is missing or unusable.
    """
    root = Path(root)
    meta = read_dataset_json(root)
    path = root / "dataset.json"
    labels, channels, ending = parse_dataset_json(meta, path)
    if "dataset" in meta:
        raise DataError(f"{path}: explicit 'dataset' file lists are not supported; use imagesTr")
    if not (root / "imagesTr").is_dir():
        raise DataError(f"{root / 'imagesTr'}: missing folder")
    train, problems = list_cases(root, "imagesTr", ending, len(channels))
    test, test_problems = list_cases(root, "imagesTs", ending, len(channels))
    unlabeled, unlabeled_problems = list_cases(root, UNLABELED_FOLDER, ending, len(channels))
    problems += test_problems + unlabeled_problems
    clashes = set(unlabeled) & set(train)
    for case in sorted(clashes):
        problems.append(f"{root / UNLABELED_FOLDER / case}_0000{ending}: case id {case!r} is "
                        "also in imagesTr; rename one of them")
    unlabeled = [c for c in unlabeled if c not in clashes]
    label_dir = root / "labelsTr"
    if not label_dir.is_dir():
        problems.append(f"{label_dir}: missing folder")
    else:
        label_cases = {p.name[: -len(ending)] for p in label_dir.iterdir()
                       if p.name.endswith(ending)}
        for case in train:
            if case not in label_cases:
                problems.append(f"{label_dir / (case + ending)}: missing label for image case")
        for case in sorted(label_cases - set(train)):
            problems.append(f"{label_dir / (case + ending)}: label without image in imagesTr")
        for p in sorted(label_dir.iterdir()):
            if not p.name.endswith(ending) and not p.name.startswith("."):
                problems.append(f"{p}: unexpected file in labelsTr")
    num = meta.get("numTraining")
    if num is not None and num != len(train):
        problems.append(f"{path}: numTraining is {num} but imagesTr holds {len(train)} cases")
    if not train:
        problems.append(f"{root / 'imagesTr'}: no cases found")
    dataset = NnUNetDataset(root=root, labels=labels, channel_names=channels, file_ending=ending,
                            training_cases=train, test_cases=test, meta=meta,
                            unlabeled_cases=unlabeled)
    return dataset, problems


def open_dataset(root: str | Path, case_table: str = "") -> NnUNetDataset:
    """Open a data set, failing on the first structural problem (files, names, json).

    Args:
        root: Data set folder.
        case_table: Optional CSV of per-case numbers (relative to ``root`` or absolute),
            see :func:`read_case_table`; empty: the one ``dataset.json`` names under
            ``case_table``, if any.
    """
    dataset, problems = scan_dataset(root)
    if problems:
        extra = (f" (and {len(problems) - 1} more; run `semiseg data check`)"
                 if len(problems) > 1 else "")
        raise DataError(problems[0] + extra)
    case_table = case_table or str(dataset.meta.get("case_table", ""))
    if case_table:
        path = Path(case_table)
        dataset.case_info = read_case_table(path if path.is_absolute() else dataset.root / path)
    return dataset


def read_case_table(path: Path) -> dict[str, dict[str, float]]:
    """Per-case numbers from a CSV with a ``case`` column (e.g. HC18's pixel sizes).

    Every other column whose values all parse as numbers is kept (empty cells are
    left out of that case's row). ``pixel_size_mm`` becomes the spacing of files that
    carry none; reference measures such as ``head_circumference_mm`` are compared with
    the predictions' by the evaluation.

    Raises:
        DataError: missing or unreadable file, no ``case`` column, a case listed twice,
            or a non-positive ``pixel_size_mm``; the message names the file.
    """
    try:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise DataError(f"{path}: cannot read the case table ({e.strerror})") from None
    except (UnicodeDecodeError, csv.Error) as e:  # a binary file, NUL bytes
        raise DataError(f"{path}: the case table is not a readable CSV file ({e})") from None
    if not rows or "case" not in rows[0]:
        raise DataError(f"{path}: case table needs a header with a 'case' column")
    numeric = []
    for column in rows[0]:
        if column == "case":
            continue
        try:
            [float(r[column]) for r in rows if r[column] not in ("", None)]
        except (TypeError, ValueError):
            continue  # a text column (e.g. file names)
        numeric.append(column)
    table: dict[str, dict[str, float]] = {}
    for line, row in enumerate(rows, start=2):
        case = row["case"]
        if case in table:
            raise DataError(f"{path}:{line}: case {case!r} is listed twice")
        values = {c: float(row[c]) for c in numeric if row[c] not in ("", None)}
        pixel = values.get("pixel_size_mm", 1.0)
        if not (np.isfinite(pixel) and pixel > 0):
            raise DataError(f"{path}:{line}: pixel_size_mm must be a positive number")
        table[case] = values
    return table
