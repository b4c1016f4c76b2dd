"""Official challenge downloads -> nnU-Net v2 raw layout (+ ``imagesUnlabeled``).

* :func:`import_acdc`: the ACDC challenge's ``training``/``testing`` folders
  (``patientNNN/patientNNN_frameXX[_gt].nii.gz``, ``Info.cfg``, ``patientNNN_4d.nii.gz``).
  ED and ES become ``<patient>_frame01`` and ``<patient>_frame02`` (the convention of
  SSL4MIS and :class:`semiseg.metrics.clinical.CardiacSpec`), with the files' own
  headers, so volumes come out in mL; the training patients' other cine frames can be
  added as scans without masks. The case table keeps height, weight, the original frame
  numbers and the group.
* :func:`import_hc18`: the HC18 challenge's ``training_set`` (``NNN_HC.png`` +
  ``NNN_HC_Annotation.png`` ellipse outlines) and ``test_set`` (no annotations), with
  their pixel-size csv files: outlines are filled into head masks, pixel sizes and
  reference head circumferences go into the case table.

Test images without masks go to ``imagesTs`` (to predict, e.g. for a challenge
submission), never silently into training; ``import_hc18(unlabeled_test=True)`` makes
the HC18 test set scans without masks instead (transductive use, the user's choice).

Both write a ``splits.json`` (val by patient or examination, seeded, and a seeded
labeled order), so that ``data.num_labeled`` / ``data.labeled_percent`` work at once.
"""

from __future__ import annotations

import csv
import json
import random
import re
import shutil
from pathlib import Path

import numpy as np
from scipy import ndimage

from semiseg.data.io import read_image, write_label
from semiseg.data.nnunet import UNLABELED_FOLDER
from semiseg.errors import DataError
from semiseg.metrics.report import write_rows_csv

_ACDC_LABELS = {"background": 0, "RV": 1, "Myo": 2, "LV": 3}
_HC18_EXAM = re.compile(r"^(\d+)_")  # NNN_HC and NNN_2HC: one examination


def _make_folders(out: Path) -> None:
    for folder in ("imagesTr", "labelsTr", "imagesTs", UNLABELED_FOLDER):
        (out / folder).mkdir(parents=True, exist_ok=True)


def held_out(groups: list[str], fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Seeded ``(train, val)`` split of groups (patients, cases), at least one of each."""
    shuffled = sorted(groups)
    random.Random(seed).shuffle(shuffled)
    n_val = min(max(1, round(fraction * len(shuffled))), len(shuffled) - 1)
    return sorted(shuffled[n_val:]), sorted(shuffled[:n_val])


def _read_info(path: Path) -> dict[str, str]:
    """``Info.cfg``: ``key: value`` lines (ED, ES, Group, Height, NbFrame, Weight)."""
    if not path.is_file():
        raise DataError(f"{path}: missing (every ACDC patient folder has Info.cfg)")
    info = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    for key in ("ED", "ES"):
        if not info.get(key, "").isdigit():
            raise DataError(f"{path}: no integer {key} frame")
    return info


def _acdc_patients(source: Path) -> dict[str, list[Path]]:
    """``{"training": [...], "testing": [...]}`` patient folders (or the source's own)."""
    parts = {name: sorted(p for p in (source / name).glob("patient*") if p.is_dir())
             for name in ("training", "testing") if (source / name).is_dir()}
    if not parts:
        parts = {"training": sorted(p for p in source.glob("patient*") if p.is_dir())}
    if not any(parts.values()):
        raise DataError(f"{source}: no patientNNN folders (expected the ACDC download's "
                        "training/ and testing/ folders)")
    return parts


def _cine_frames(path: Path, skip: set[int]) -> list[tuple[int, object]]:
    """3D frames (1-based number, image) of a 4D cine volume, except ``skip``."""
    import nibabel as nib

    try:
        frames = nib.four_to_three(nib.load(str(path)))
    except Exception as e:  # any reader failure means a bad file
        raise DataError(f"{path}: cannot read the 4D cine volume ({e})") from None
    return [(t + 1, img) for t, img in enumerate(frames) if t + 1 not in skip]


def _import_acdc_patient(folder: Path, out: Path, training: bool, cine: bool
                         ) -> tuple[list[str], list[dict[str, object]]]:
    """Write one patient's ED/ES frames (and cine frames); its labeled cases, table rows."""
    import nibabel as nib

    patient = folder.name
    info = _read_info(folder / "Info.cfg")
    frames = {"frame01": int(info["ED"]), "frame02": int(info["ES"])}
    labeled, rows = [], []
    for name, frame in frames.items():
        image = folder / f"{patient}_frame{frame:02d}.nii.gz"
        truth = folder / f"{patient}_frame{frame:02d}_gt.nii.gz"
        if not image.is_file():
            raise DataError(f"{image}: missing (Info.cfg names frame {frame})")
        case = f"{patient}_{name}"
        where = ("imagesTr" if truth.is_file() else UNLABELED_FOLDER if training else "imagesTs")
        shutil.copyfile(image, out / where / f"{case}_0000.nii.gz")
        if truth.is_file():
            shutil.copyfile(truth, out / "labelsTr" / f"{case}.nii.gz")
            labeled.append(case)
        rows.append({"case": case, "phase": "ED" if name == "frame01" else "ES", "frame": frame,
                     "height_cm": info.get("Height", ""), "weight_kg": info.get("Weight", ""),
                     "group": info.get("Group", "")})
    cine_path = folder / f"{patient}_4d.nii.gz"
    if cine and training and cine_path.is_file():
        for t, img in _cine_frames(cine_path, set(frames.values())):
            nib.save(img, str(out / UNLABELED_FOLDER / f"{patient}_cine{t:02d}_0000.nii.gz"))
    return labeled, rows


def import_acdc(source: str | Path, out: str | Path, cine: bool = False,
                val_fraction: float = 0.2, seed: int = 0) -> Path:
    """Convert the ACDC challenge download to nnU-Net layout.

    Args:
        source: Folder with ``training/`` and optionally ``testing/`` (or the patient
            folders themselves).
        out: Data set folder to create.
        cine: Also write every other frame of each ``*_4d.nii.gz`` as a scan without a
            mask (``<patient>_cineNN``), the unlabeled data a cine MRI study brings.
        val_fraction: Share of the training patients held out for validation.
        seed: Seed of the val patients and of the labeled order.

    Returns:
        ``out``. Its ``splits.json``: ``train``/``val`` from the training patients,
        ``test`` = the testing patients (official test set), ``labeled_patients_order``.

    Raises:
        DataError: missing Info.cfg or frames, unreadable files (naming the file).
    """
    source, out = Path(source), Path(out)
    parts = _acdc_patients(source)
    _make_folders(out)
    table: list[dict[str, object]] = []
    cases_of: dict[str, list[str]] = {}
    for part, folders in parts.items():
        for folder in folders:
            labeled, rows = _import_acdc_patient(folder, out, part == "training", cine)
            cases_of.setdefault(part, []).extend(labeled)
            table += rows
    train_cases = cases_of.get("training", [])
    patients = sorted({c.rsplit("_", 1)[0] for c in train_cases})
    train_p, val_p = held_out(patients, val_fraction, seed)
    order = list(train_p)
    random.Random(seed + 1).shuffle(order)
    splits = {"train": [c for c in train_cases if c.rsplit("_", 1)[0] in set(train_p)],
              "val": [c for c in train_cases if c.rsplit("_", 1)[0] in set(val_p)],
              "test": cases_of.get("testing", []), "labeled_patients_order": order}
    (out / "splits.json").write_text(json.dumps(splits, indent=1))
    write_rows_csv(table, out / "case_table.csv")
    n_train = sum(len(v) for v in cases_of.values())
    meta = {"channel_names": {"0": "cineMRI"}, "labels": _ACDC_LABELS, "numTraining": n_train,
            "file_ending": ".nii.gz", "case_table": "case_table.csv",
            "source": f"imported by semiseg from the ACDC challenge download {source}",
            "case_naming": "<patient>_frame01 = ED, <patient>_frame02 = ES (the original frame "
                           "numbers are in case_table.csv); <patient>_cineNN = other cine "
                           "frames, without masks",
            "spacing_note": "the challenge files' own headers (mm)"}
    (out / "dataset.json").write_text(json.dumps(meta, indent=1))
    return out


def _read_hc18_csv(path: Path) -> dict[str, dict[str, float]]:
    """``filename -> {pixel_size_mm, head_circumference_mm}`` from a challenge csv."""
    if not path.is_file():
        raise DataError(f"{path}: missing (the HC18 download's pixel-size csv)")
    try:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as err:  # unreadable, binary, NUL bytes
        raise DataError(f"{path}: not a readable CSV file ({err})") from None
    out: dict[str, dict[str, float]] = {}
    for line, row in enumerate(rows, start=2):
        keys = {k.strip().lower(): v for k, v in row.items() if k}
        try:
            values = {"pixel_size_mm": float(keys["pixel size(mm)"])}
            if keys.get("head circumference (mm)"):
                values["head_circumference_mm"] = float(keys["head circumference (mm)"])
            out[keys["filename"].strip()] = values
        except (KeyError, ValueError):
            raise DataError(f"{path}:{line}: expected columns 'filename', 'pixel size(mm)'"
                            " and numbers in them") from None
    return out


def _find(source: Path, name: str) -> Path:
    """``name`` in ``source`` or in one of its sub-folders (downloads unpack either way)."""
    hits = [source / name, *sorted(source.glob(f"*/{name}"))]
    return next((p for p in hits if p.exists()), source / name)


def filled_outline(path: Path) -> np.ndarray:
    """The head mask inside an HC18 ellipse-outline annotation: uint8 ``[H, W]``, 0/1.

    Raises:
        DataError: the outline does not enclose anything (open or empty contour).
    """
    outline, _ = read_image(path)
    line = (outline[..., 0] if outline.ndim == 3 else outline) > 127
    mask = ndimage.binary_fill_holes(line)
    if mask.sum() <= line.sum():
        raise DataError(f"{path}: the annotation outline encloses no region (open contour?)")
    return mask.astype(np.uint8)


def _exam(case: str) -> str:
    """Examination of an HC18 case (``010_HC``, ``010_2HC`` -> ``010``)."""
    match = _HC18_EXAM.match(case)
    return match.group(1) if match else case


def import_hc18(source: str | Path, out: str | Path, val_fraction: float = 0.1,
                seed: int = 0, unlabeled_test: bool = False) -> Path:
    """Convert the HC18 challenge download to nnU-Net layout.

    Args:
        source: Folder holding ``training_set/``, ``training_set_pixel_size_and_HC.csv``
            and optionally ``test_set/`` + ``test_set_pixel_size.csv``.
        out: Data set folder to create.
        val_fraction: Share of examinations (``NNN_HC`` / ``NNN_2HC`` share one) held out.
        seed: Seed of the val examinations and of the labeled order.
        unlabeled_test: Put the test set into ``imagesUnlabeled`` (train on it without
            masks) instead of ``imagesTs``.

    Returns:
        ``out``, with ``pixel_size_and_hc.csv`` (the case table) and ``splits.json``
        (``train``, ``val``, ``labeled_order``; a budget of p % labels the first p % of it).

    Raises:
        DataError: missing folders or csv rows, unreadable images, open outlines.
    """
    source, out = Path(source), Path(out)
    train_dir = _find(source, "training_set")
    if not train_dir.is_dir():
        raise DataError(f"{train_dir}: missing (the HC18 download's training_set folder)")
    sizes = _read_hc18_csv(_find(source, "training_set_pixel_size_and_HC.csv"))
    test_dir = _find(source, "test_set")
    if test_dir.is_dir():
        sizes |= _read_hc18_csv(_find(source, "test_set_pixel_size.csv"))
    _make_folders(out)
    table, cases = [], []
    images = [(p, True) for p in sorted(train_dir.glob("*HC.png"))]
    images += [(p, False) for p in sorted(test_dir.glob("*HC.png"))] if test_dir.is_dir() else []
    if not images:
        raise DataError(f"{train_dir}: no NNN_HC.png images")
    for image, labeled in images:
        if image.name not in sizes:
            raise DataError(f"{image}: not in the pixel-size csv")
        case = image.stem
        where = ("imagesTr" if labeled else UNLABELED_FOLDER if unlabeled_test else "imagesTs")
        shutil.copyfile(image, out / where / f"{case}_0000.png")
        if labeled:
            annotation = image.with_name(f"{case}_Annotation.png")
            if not annotation.is_file():
                raise DataError(f"{annotation}: missing annotation of {image.name}")
            _, geometry = read_image(image)
            write_label(out / "labelsTr" / f"{case}.png", filled_outline(annotation), geometry)
            cases.append(case)
        table.append({"case": case, "image_file_hc18": image.name, **sizes[image.name]})
    _, val_exams = held_out(sorted({_exam(c) for c in cases}), val_fraction, seed)
    train = [c for c in cases if _exam(c) not in set(val_exams)]
    order = list(train)
    random.Random(seed + 1).shuffle(order)
    splits = {"train": train, "val": [c for c in cases if _exam(c) in set(val_exams)],
              "labeled_order": order}
    (out / "splits.json").write_text(json.dumps(splits, indent=1))
    write_rows_csv(table, out / "pixel_size_and_hc.csv")
    meta = {"channel_names": {"0": "ultrasound"}, "labels": {"background": 0, "head": 1},
            "numTraining": len(cases), "file_ending": ".png",
            "case_table": "pixel_size_and_hc.csv",
            "source": f"imported by semiseg from the HC18 challenge download {source}",
            "mask_note": "annotation outlines filled (outline included)",
            "spacing_note": "PNG carries no spacing: pixel_size_mm in pixel_size_and_hc.csv"}
    (out / "dataset.json").write_text(json.dumps(meta, indent=1))
    return out
