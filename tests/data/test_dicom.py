"""DICOM series import: slice order, oblique geometry, rescaling, cine phases, bad series."""

import csv
import random
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

from semiseg.cli import main
from semiseg.data.dicom import import_dicom
from semiseg.data.io import read_image
from semiseg.errors import DataError

ANGLE = np.deg2rad(30)
ALONG_ROWS = np.array([np.cos(ANGLE), np.sin(ANGLE), 0.0])  # +column index
ALONG_COLUMNS = np.array([0.0, 0.0, -1.0])                   # +row index
NORMAL = np.cross(ALONG_ROWS, ALONG_COLUMNS)
ORIGIN = np.array([-40.0, 12.5, 60.0])
ROW_SPACING, COLUMN_SPACING, GAP = 1.25, 0.8, 6.0


def _pixels(k: int, phase: int = 0) -> np.ndarray:
    """``[rows=6, cols=5]`` int16: distinct per slice, row and column."""
    rows, cols = np.meshgrid(np.arange(6), np.arange(5), indexing="ij")
    return (100 * k + 10 * rows + cols + 1000 * phase).astype(np.int16)


def _write(path: Path, k: int, series: str, number: int, *, phase: int = 0,
           trigger: float | None = None, rows: int = 6, slope: float = 2.0,
           extra: dict | None = None) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = MRImageStorage, meta.MediaStorageSOPInstanceUID
    ds.PatientID, ds.StudyDate, ds.Modality = "PAT 7", "20260101", "MR"
    ds.SeriesInstanceUID, ds.SeriesNumber, ds.SeriesDescription = series, number, "sax cine"
    ds.ImagePositionPatient = [float(v) for v in ORIGIN + k * GAP * NORMAL]
    ds.ImageOrientationPatient = [float(v) for v in (*ALONG_ROWS, *ALONG_COLUMNS)]
    ds.PixelSpacing = [ROW_SPACING, COLUMN_SPACING]
    pixels = _pixels(k, phase)[:rows]
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleSlope, ds.RescaleIntercept = slope, -5.0
    if trigger is not None:
        ds.TriggerTime = trigger
    ds.PixelData = pixels.tobytes()
    for key, value in (extra or {}).items():
        setattr(ds, key, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


def _series(folder: Path, slices: list[int], number: int = 3, **kwargs) -> str:
    uid = generate_uid()
    order = list(slices)
    random.Random(number).shuffle(order)  # file order says nothing about slice order
    for i, k in enumerate(order):
        _write(folder / f"IM{number}_{i:04d}", k, uid, number, **kwargs)
    return uid


def test_oblique_series_geometry_order_and_rescale(tmp_path: Path) -> None:
    _series(tmp_path / "dicom", [0, 1, 2, 3])
    (tmp_path / "dicom" / "notes.txt").write_text("not DICOM")
    cases, skipped = import_dicom(tmp_path / "dicom", tmp_path / "out")
    assert cases == ["PAT-7_s3"] and skipped == 1
    img = nib.load(tmp_path / "out" / "PAT-7_s3_0000.nii.gz")
    array = np.asarray(img.dataobj)
    assert array.shape == (5, 6, 4)  # (columns, rows, slices)
    for k in range(4):
        assert np.array_equal(array[..., k], (_pixels(k) * 2.0 - 5.0).T)
    for i, j, k in [(0, 0, 0), (4, 0, 0), (0, 5, 0), (3, 2, 3)]:
        lps = ORIGIN + i * COLUMN_SPACING * ALONG_ROWS + j * ROW_SPACING * ALONG_COLUMNS \
            + k * GAP * NORMAL
        ras = img.affine @ [i, j, k, 1]
        assert np.allclose(ras[:3], [-lps[0], -lps[1], lps[2]])
    _, geometry = read_image(tmp_path / "out" / "PAT-7_s3_0000.nii.gz")
    assert geometry.spacing_known
    assert np.allclose(geometry.spacing, (COLUMN_SPACING, ROW_SPACING, GAP))
    (row,) = list(csv.DictReader((tmp_path / "out" / "dicom_cases.csv").open()))
    assert row["patient"] == "PAT 7" and row["slices"] == "4" and row["spacing_mm"] == "0.8x1.25x6"


def test_cine_series_splits_into_phases_by_trigger_time(tmp_path: Path) -> None:
    uid = generate_uid()
    files = []
    for k in range(3):
        for phase, trigger in enumerate((0.0 + k, 350.0 - k)):  # jitter between slices
            files.append((k, phase, trigger))
    random.Random(0).shuffle(files)
    for i, (k, phase, trigger) in enumerate(files):
        _write(tmp_path / "cine" / f"{i}.dcm", k, uid, 9, phase=phase, trigger=trigger)
    cases, _ = import_dicom(tmp_path / "cine", tmp_path / "out")
    assert cases == ["PAT-7_s9_phase01", "PAT-7_s9_phase02"]
    for phase, case in enumerate(cases):
        array = np.asarray(nib.load(tmp_path / "out" / f"{case}_0000.nii.gz").dataobj)
        assert np.array_equal(array[..., 2], (_pixels(2, phase) * 2.0 - 5.0).T)


def test_bad_series_name_themselves(tmp_path: Path) -> None:
    _series(tmp_path / "gap", [0, 1, 3])  # slice 2 missing
    with pytest.raises(DataError, match="uneven gaps between slice positions"):
        import_dicom(tmp_path / "gap", tmp_path / "o1")
    uid = _series(tmp_path / "size", [0, 1])
    _write(tmp_path / "size" / "odd", 2, uid, 3, rows=4)
    with pytest.raises(DataError, match=r"4x5 pixels, the series' first slice 6x5"):
        import_dicom(tmp_path / "size", tmp_path / "o2")
    uid = _series(tmp_path / "dup", [0, 1])
    _write(tmp_path / "dup" / "again", 1, uid, 3)
    with pytest.raises(DataError, match=f"series {uid}.*3 slices at 2 positions"):
        import_dicom(tmp_path / "dup", tmp_path / "o3")
    _write(tmp_path / "multi" / "f", 0, generate_uid(), 5, extra={"NumberOfFrames": 4})
    with pytest.raises(DataError, match="multi-frame"):
        import_dicom(tmp_path / "multi", tmp_path / "o5")
    _write(tmp_path / "rgb" / "f", 0, generate_uid(), 5, extra={"SamplesPerPixel": 3})
    with pytest.raises(DataError, match="colour DICOM"):
        import_dicom(tmp_path / "rgb", tmp_path / "o6")
    (tmp_path / "none").mkdir()
    (tmp_path / "none" / "a.txt").write_text("x")
    with pytest.raises(DataError, match=r"no DICOM image series found \(1 other files\)"):
        import_dicom(tmp_path / "none", tmp_path / "o4")


def test_cli_import_dicom(tmp_path: Path, capsys) -> None:
    _series(tmp_path / "d" / "series_a", [0, 1], number=3)
    _series(tmp_path / "d" / "series_b", [0, 1, 2], number=4)
    assert main(["data", "import", "dicom", str(tmp_path / "d"), str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "2 volumes" in out and sorted(p.name for p in (tmp_path / "out").glob("*.gz")) == [
        "PAT-7_s3_0000.nii.gz", "PAT-7_s4_0000.nii.gz"]


def test_imported_series_predict_with_their_geometry(tiny_supervised_run: Path,
                                                      tmp_path: Path) -> None:
    from semiseg.predict import predict_folder

    _series(tmp_path / "dicom", [0, 1, 2, 3])
    import_dicom(tmp_path / "dicom", tmp_path / "scans")
    # the oblique LPS-based series is not stored like the phantom (RAS): predict says so
    with pytest.warns(UserWarning, match=r"another orientation than the training scans \(RAS"):
        (written,), _ = predict_folder(tiny_supervised_run, tmp_path / "scans",
                                       tmp_path / "pred")
    source = nib.load(tmp_path / "scans" / "PAT-7_s3_0000.nii.gz")
    prediction = nib.load(written)
    assert prediction.shape == source.shape and np.allclose(prediction.affine, source.affine)


def test_into_a_data_sets_unlabeled_folder(tiny_dataset: Path, tmp_path: Path) -> None:
    import shutil

    from semiseg.data.check import check_dataset
    from semiseg.data.nnunet import open_dataset

    root = tmp_path / "ds"
    shutil.copytree(tiny_dataset, root)
    _series(tmp_path / "dicom", [0, 1, 2])
    import_dicom(tmp_path / "dicom", root / "imagesUnlabeled")
    assert (root / "dicom_cases_imagesUnlabeled.csv").is_file()  # beside, not inside
    assert not [p for p in check_dataset(root) if not p.startswith("warning")]
    assert open_dataset(root).unlabeled_cases == ["PAT-7_s3"]
