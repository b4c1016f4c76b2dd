"""Reading nnU-Net data sets, and bad data sets giving one-line errors that name the file."""

import json
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from semiseg.data.check import check_dataset
from semiseg.data.nnunet import open_dataset
from semiseg.errors import DataError


@pytest.fixture
def dataset(tiny_dataset: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny data set that a test may break."""
    return Path(shutil.copytree(tiny_dataset, tmp_path / "ds"))


def test_reads_cases_with_geometry(tiny_dataset: Path) -> None:
    ds = open_dataset(tiny_dataset)
    assert ds.num_classes == 4 and ds.class_names == ["background", "RV", "Myo", "LV"]
    case = ds.load_case(ds.training_cases[0])
    assert case.image.shape == (1, 32, 32, 4) and case.image.dtype == np.float32
    assert case.label.shape == (32, 32, 4) and case.label.dtype == np.uint8
    assert case.geometry.spacing == (1.5, 1.5, 8.0) and case.geometry.spacing_known
    assert check_dataset(tiny_dataset) == []


def _first_case(root: Path) -> str:
    return sorted(p.name for p in (root / "labelsTr").iterdir())[0].removesuffix(".nii.gz")


def _rewrite_image(root: Path, case: str, fn) -> Path:
    path = root / "imagesTr" / f"{case}_0000.nii.gz"
    img = nib.load(path)
    data, affine = fn(np.asarray(img.dataobj, dtype=np.float32), img.affine.copy())
    nib.save(nib.Nifti1Image(data, affine), path)
    return path


def _rewrite_label(root: Path, case: str, fn) -> Path:
    path = root / "labelsTr" / f"{case}.nii.gz"
    img = nib.load(path)
    nib.save(nib.Nifti1Image(fn(np.asarray(img.dataobj)), img.affine), path)
    return path


def _break(kind: str, root: Path) -> str:
    """Break the data set in one way; returns a string the error must contain."""
    case = _first_case(root)
    meta_path = root / "dataset.json"
    meta = json.loads(meta_path.read_text())
    if kind == "missing_dataset_json":
        meta_path.unlink()
        return "dataset.json: missing"
    if kind == "invalid_json":
        meta_path.write_text("{ not json")
        return "not valid JSON"
    if kind == "missing_labels_key":
        del meta["labels"]
        meta_path.write_text(json.dumps(meta))
        return "missing key 'labels'"
    if kind == "label_gap":
        meta["labels"] = {"background": 0, "a": 2}
        meta_path.write_text(json.dumps(meta))
        return "without gaps"
    if kind == "bad_file_ending":
        meta["file_ending"] = ".mha"
        meta_path.write_text(json.dumps(meta))
        return "not supported"
    if kind == "missing_label_file":
        (root / "labelsTr" / f"{case}.nii.gz").unlink()
        return f"{case}.nii.gz: missing label"
    if kind == "label_without_image":
        (root / "imagesTr" / f"{case}_0000.nii.gz").unlink()
        return "label without image"
    if kind == "stray_file":
        (root / "imagesTr" / "notes.txt").write_text("x")
        return "notes.txt: unexpected file"
    if kind == "no_channel_suffix":
        shutil.copy(root / "imagesTr" / f"{case}_0000.nii.gz", root / "imagesTr" / "x.nii.gz")
        return "x.nii.gz: name lacks the _XXXX channel suffix"
    if kind == "extra_channel":
        shutil.copy(root / "imagesTr" / f"{case}_0000.nii.gz",
                    root / "imagesTr" / f"{case}_0001.nii.gz")
        return "beyond the 1 declared"
    if kind == "num_training":
        meta["numTraining"] = 99
        meta_path.write_text(json.dumps(meta))
        return "numTraining is 99"
    if kind == "corrupt_image":
        path = root / "imagesTr" / f"{case}_0000.nii.gz"
        path.write_bytes(path.read_bytes()[:200])
        return f"{case}_0000.nii.gz: cannot read nifti"
    if kind == "nan_image":
        _rewrite_image(root, case, lambda d, a: (np.where(d > d.mean(), np.nan, d), a))
        return "NaN or inf"
    if kind == "inf_image":
        _rewrite_image(root, case, lambda d, a: (np.where(d > d.mean(), np.inf, d), a))
        return "NaN or inf"
    if kind == "shape_mismatch":
        _rewrite_label(root, case, lambda d: d[:-2])
        return "differs from image shape"
    if kind == "dimension_mismatch":
        _rewrite_label(root, case, lambda d: d[..., 0])
        return "label has 2 dimensions"
    if kind == "affine_mismatch":
        _rewrite_image(root, case, lambda d, a: (d, a @ np.diag([2.0, 1, 1, 1])))
        return "affine differs"
    if kind == "undeclared_label":
        _rewrite_label(root, case, lambda d: np.where(d == 3, 7, d).astype(np.uint8))
        return "label values [7] are not declared"
    if kind == "fractional_label":
        _rewrite_label(root, case, lambda d: d.astype(np.float32) + 0.5)
        return "non-integer"
    if kind == "missing_folder":
        shutil.rmtree(root / "labelsTr")
        return "labelsTr: missing folder"
    raise AssertionError(kind)


BROKEN = ["missing_dataset_json", "invalid_json", "missing_labels_key", "label_gap",
          "bad_file_ending", "missing_label_file", "label_without_image", "stray_file",
          "no_channel_suffix", "extra_channel", "num_training", "corrupt_image", "nan_image",
          "inf_image", "shape_mismatch", "dimension_mismatch", "affine_mismatch",
          "undeclared_label", "fractional_label", "missing_folder"]


@pytest.mark.parametrize("kind", BROKEN)
def test_broken_dataset_is_reported_in_one_line(kind: str, dataset: Path) -> None:
    expected = _break(kind, dataset)
    problems = [p for p in check_dataset(dataset) if not p.startswith("warning")]
    assert problems, f"{kind}: no problem reported"
    assert any(expected in p for p in problems), problems
    assert all("\n" not in p for p in problems)


def test_check_reports_all_problems_at_once(dataset: Path) -> None:
    _break("stray_file", dataset)
    _break("nan_image", dataset)
    assert len(check_dataset(dataset)) >= 2


def test_empty_label_is_a_warning(dataset: Path) -> None:
    _rewrite_label(dataset, _first_case(dataset), lambda d: np.zeros_like(d))
    problems = check_dataset(dataset)
    assert len(problems) == 1 and problems[0].startswith("warning:")


def test_open_dataset_raises_first_problem(dataset: Path) -> None:
    _break("missing_label_file", dataset)
    with pytest.raises(DataError, match="missing label"):
        open_dataset(dataset)


def test_png_dataset(tmp_path: Path) -> None:
    root = tmp_path / "png"
    (root / "imagesTr").mkdir(parents=True)
    (root / "labelsTr").mkdir()
    for i, (h, w) in enumerate([(40, 60), (50, 30)]):
        image = np.full((h, w), 100 + i, np.uint8)
        Image.fromarray(image).save(root / "imagesTr" / f"c{i}_0000.png")
        lab = np.zeros((h, w), np.uint8)
        lab[5:20, 5:20] = 1
        Image.fromarray(lab).save(root / "labelsTr" / f"c{i}.png")
    (root / "dataset.json").write_text(json.dumps({
        "channel_names": {"0": "us"}, "labels": {"background": 0, "head": 1},
        "numTraining": 2, "file_ending": ".png"}))
    ds = open_dataset(root)
    case = ds.load_case("c1")
    assert ds.is_2d_images and case.image.shape == (1, 50, 30) and case.label.shape == (50, 30)
    assert check_dataset(root) == []


def _add_unlabeled_scan(root: Path, source_case: str, name: str, noise: float = 0.1) -> Path:
    """A scan without a mask in imagesUnlabeled: ``source_case``'s image, perturbed."""
    img = nib.load(root / "imagesTr" / f"{source_case}_0000.nii.gz")
    data = np.asarray(img.dataobj, dtype=np.float32) + noise
    (root / "imagesUnlabeled").mkdir(exist_ok=True)
    path = root / "imagesUnlabeled" / f"{name}_0000.nii.gz"
    nib.save(nib.Nifti1Image(data, img.affine), path)
    return path


def test_scans_without_masks_are_unlabeled_cases(dataset: Path) -> None:
    case = _first_case(dataset)
    _add_unlabeled_scan(dataset, case, "patient900_frame01")
    ds = open_dataset(dataset)
    assert ds.unlabeled_cases == ["patient900_frame01"]
    assert "patient900_frame01" not in ds.training_cases
    assert ds.folder_of("patient900_frame01") == "imagesUnlabeled"
    scan = ds.load_case("patient900_frame01", with_label=False)
    assert scan.label is None and scan.image.shape == ds.load_case(case).image.shape
    with pytest.raises(DataError, match=r"imagesUnlabeled.*scan without a label"):
        ds.load_case("patient900_frame01")
    assert check_dataset(dataset) == []


def test_unlabeled_scan_problems(dataset: Path) -> None:
    case = _first_case(dataset)
    _add_unlabeled_scan(dataset, case, case)  # same id as a labeled case
    _add_unlabeled_scan(dataset, case, "copy_of_first", noise=0.0)  # same pixels
    problems = check_dataset(dataset)
    assert any(f"case id {case!r} is also in imagesTr" in p for p in problems), problems
    assert any("copy_of_first_0000.nii.gz: same image as case" in p and
               p.startswith("warning") for p in problems), problems
