"""DICOM series -> NIfTI cases that ``semiseg predict`` and the data sets read.

Hospitals store scans as DICOM: one file per slice, many series per folder tree. This
reads every file under a folder (pydicom, headers first), groups the slices into series
(``SeriesInstanceUID``), and splits a series whose slices repeat positions into its
cardiac phases (``TriggerTime``, else ``TemporalPositionIdentifier``; cine MRI), each
phase one volume. Slices are ordered by their position along the slice normal (not by
file name or ``InstanceNumber``), pixel values rescaled (``RescaleSlope/Intercept``),
and the voxel-to-patient geometry (``ImagePositionPatient``, ``ImageOrientationPatient``,
``PixelSpacing``, the spacing between slice positions) is written into the NIfTI affine,
converted from DICOM's LPS to NIfTI's RAS. The array axes are (column, row, slice) of
the DICOM images, the usual NIfTI layout of short-axis stacks.

Refused with a one-line error naming the series or file: slices of different size,
orientation or pixel spacing; uneven gaps between slice positions (a missing slice);
repeated positions that no temporal tag separates; multi-frame (enhanced) files and
colour images, which this reader does not handle. Files that are not DICOM images (DICOMDIR,
reports, other files) are skipped.

Each volume is written as ``<out>/<case>_0000.nii.gz``, ``case`` =
``<PatientID>_s<SeriesNumber>`` (+ ``_phaseNN`` per phase, in trigger-time order; not
``_frameNN``, which names ACDC's ED/ES frames; ``semiseg predict`` picks ED and ES of a
cine series by predicted LV volume), so
that patient-grouped splits keep a patient's series together; ``dicom_cases.csv`` maps
cases back to patient, study, series and phase: in ``out``, or beside it when ``out`` is a
data set's image folder (``imagesTr``/``imagesTs``/``imagesUnlabeled``, which hold images
only).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from semiseg.errors import DataError
from semiseg.metrics.report import write_rows_csv

_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass
class _Slice:
    path: Path
    header: Any  # pydicom Dataset without pixel data

    def position(self) -> np.ndarray:
        return np.asarray(self.header.ImagePositionPatient, dtype=float)

    def orientation(self) -> np.ndarray:
        return np.asarray(self.header.ImageOrientationPatient, dtype=float)


def _safe(text: object, fallback: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9.-]+", "-", str(text or "")).strip("-.")
    return cleaned or fallback


def _scan(source: Path) -> tuple[dict[str, list[_Slice]], int]:
    """Image slices grouped by series, and how many files were skipped."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    series: dict[str, list[_Slice]] = defaultdict(list)
    skipped = 0
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        try:
            header = pydicom.dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, OSError, ValueError, EOFError):
            skipped += 1
            continue
        needed = ("SeriesInstanceUID", "ImagePositionPatient", "ImageOrientationPatient",
                  "PixelSpacing", "Rows", "Columns")
        if int(header.get("NumberOfFrames", 1) or 1) > 1:
            raise DataError(f"{path}: multi-frame (enhanced) DICOM is not supported; export "
                            "one file per slice, or convert it with dcm2niix")
        if not all(key in header for key in needed):
            skipped += 1  # DICOMDIR, structured reports, localisers without geometry
            continue
        if int(header.get("SamplesPerPixel", 1) or 1) != 1:
            raise DataError(f"{path}: colour DICOM ({header.get('PhotometricInterpretation')})"
                            " is not supported; semiseg reads grey-scale series")
        series[str(header.SeriesInstanceUID)].append(_Slice(path, header))
    return series, skipped


def _phases(slices: list[_Slice], name: str) -> list[list[_Slice]]:
    """One list per cardiac phase when positions repeat, else ``[slices]``.

    Phase ``k`` is the ``k``-th slice of every position in temporal order (trigger times
    differ a little between breath-holds, so they are ranked, not matched).
    """
    at: dict[tuple[float, ...], list[_Slice]] = defaultdict(list)
    for s in slices:
        at[tuple(np.round(s.position(), 2))].append(s)
    if all(len(group) == 1 for group in at.values()):
        return [slices]
    counts = {len(group) for group in at.values()}
    tag = next((t for t in ("TriggerTime", "TemporalPositionIdentifier")
                if all(t in s.header for s in slices)), None)
    if tag is None or len(counts) != 1:
        raise DataError(f"{name}: {len(slices)} slices at {len(at)} positions "
                        f"({sorted(counts)} per position) and no TriggerTime/"
                        "TemporalPositionIdentifier that splits them into equal phases")
    ranked = [sorted(group, key=lambda s: float(s.header.get(tag))) for group in at.values()]
    return [[group[k] for group in ranked] for k in range(counts.pop())]


def _volume(slices: list[_Slice], name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(array [columns, rows, slices] float32, RAS affine)`` of one phase."""
    import pydicom

    first = slices[0].header
    orientation = slices[0].orientation()
    spacing = np.asarray(first.PixelSpacing, dtype=float)  # (between rows, between columns)
    for s in slices[1:]:
        h = s.header
        if (h.Rows, h.Columns) != (first.Rows, first.Columns):
            raise DataError(f"{name}: {s.path}: {h.Rows}x{h.Columns} pixels, the series' "
                            f"first slice {first.Rows}x{first.Columns}")
        if not np.allclose(s.orientation(), orientation, atol=1e-4):
            raise DataError(f"{name}: {s.path}: orientation differs from the series' others")
        if not np.allclose(np.asarray(h.PixelSpacing, dtype=float), spacing, atol=1e-4):
            raise DataError(f"{name}: {s.path}: pixel spacing differs from the series' others")
    along_rows, along_columns = orientation[:3], orientation[3:]  # +column index, +row index
    normal = np.cross(along_rows, along_columns)
    slices = sorted(slices, key=lambda s: float(s.position() @ normal))
    if len(slices) > 1:
        gaps = np.diff([float(s.position() @ normal) for s in slices])
        if np.any(gaps < 1e-3) or np.ptp(gaps) > max(0.01 * gaps.mean(), 1e-3):
            raise DataError(f"{name}: uneven gaps between slice positions ({gaps.min():.3g} "
                            f"to {gaps.max():.3g} mm): a missing or extra slice?")
        step = (slices[-1].position() - slices[0].position()) / (len(slices) - 1)
    else:
        step = normal * float(first.get("SliceThickness", 1.0) or 1.0)
    lps = np.eye(4)
    lps[:3, 0] = along_rows * spacing[1]
    lps[:3, 1] = along_columns * spacing[0]
    lps[:3, 2] = step
    lps[:3, 3] = slices[0].position()
    planes = []
    for s in slices:
        try:
            pixels = pydicom.dcmread(s.path).pixel_array.astype(np.float32)
        except Exception as err:  # compressed syntaxes without a decoder, broken data
            msg = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise DataError(f"{s.path}: cannot decode the pixels ({msg})") from None
        slope = float(s.header.get("RescaleSlope", 1.0) or 1.0)
        intercept = float(s.header.get("RescaleIntercept", 0.0) or 0.0)
        planes.append((pixels * slope + intercept).T)  # [rows, cols] -> [cols, rows]
    return np.stack(planes, axis=-1), _LPS_TO_RAS @ lps


def cases_table_path(out: Path) -> Path:
    """Where :func:`import_dicom` lists its cases for the output folder ``out``."""
    if out.name in ("imagesTr", "imagesTs", "imagesUnlabeled"):
        return out.parent / f"dicom_cases_{out.name}.csv"
    return out / "dicom_cases.csv"


def import_dicom(source: str | Path, out: str | Path) -> tuple[list[str], int]:
    """Convert every DICOM image series under ``source`` (see the module docstring).

    Args:
        source: Folder tree of DICOM files.
        out: Folder for ``<case>_0000.nii.gz`` files and ``dicom_cases.csv`` (e.g. a
            folder for ``semiseg predict -i``, or a data set's ``imagesUnlabeled``).

    Returns:
        The case ids written, and the number of files skipped as not DICOM images.
    """
    import nibabel as nib

    src, out = Path(source), Path(out)
    if not src.is_dir():
        raise DataError(f"{src}: DICOM folder does not exist")
    series, skipped = _scan(src)
    if not series:
        raise DataError(f"{src}: no DICOM image series found ({skipped} other files)")
    out.mkdir(parents=True, exist_ok=True)
    rows, cases = [], []
    for uid, slices in sorted(series.items(), key=lambda kv: str(kv[1][0].path)):
        head = slices[0].header
        base = (f"{_safe(head.get('PatientID'), 'patient')}_"
                f"s{_safe(head.get('SeriesNumber'), uid[-8:])}")
        name = f"series {uid} ({slices[0].path.parent})"
        phases = _phases(slices, name)
        for index, phase in enumerate(phases, start=1):
            case = base if len(phases) == 1 else f"{base}_phase{index:02d}"
            while case in cases:  # two series with one number: keep both
                case += "b"
            array, affine = _volume(phase, name)
            nib.save(nib.Nifti1Image(array, affine), str(out / f"{case}_0000.nii.gz"))
            cases.append(case)
            rows.append({"case": case, "patient": str(head.get("PatientID", "")),
                         "study_date": str(head.get("StudyDate", "")),
                         "series_number": str(head.get("SeriesNumber", "")),
                         "series_description": str(head.get("SeriesDescription", "")),
                         "series_uid": uid, "phase": index if len(phases) > 1 else "",
                         "trigger_time_ms": str(phase[0].header.get("TriggerTime", "")),
                         "slices": len(phase),
                         "spacing_mm": "x".join(f"{v:.4g}" for v in
                                                nib.affines.voxel_sizes(affine))})
    write_rows_csv(rows, cases_table_path(out))
    return cases, skipped
