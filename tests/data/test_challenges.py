"""Importers of the ACDC and HC18 challenge downloads, on tiny fake downloads."""

import csv
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from PIL import Image
from skimage.draw import ellipse, ellipse_perimeter

from semiseg.config import load_config
from semiseg.data.challenges import filled_outline, import_acdc, import_hc18
from semiseg.data.check import check_dataset
from semiseg.data.nnunet import open_dataset
from semiseg.engine.data import resolve_split
from semiseg.errors import DataError

AFFINE = np.diag([1.5, 1.5, 10.0, 1.0])


def _acdc_patient(folder: Path, number: int, with_truth: bool = True) -> None:
    patient = f"patient{number:03d}"
    root = folder / patient
    root.mkdir(parents=True)
    (root / "Info.cfg").write_text("ED: 1\nES: 3\nGroup: NOR\nHeight: 180.0\nNbFrame: 4\n"
                                   "Weight: 80.0\n")
    rng = np.random.default_rng(number)
    cine = rng.normal(size=(16, 16, 3, 4)).astype(np.float32)
    nib.save(nib.Nifti1Image(cine, AFFINE), root / f"{patient}_4d.nii.gz")
    for frame in (1, 3):
        nib.save(nib.Nifti1Image(cine[..., frame - 1], AFFINE),
                 root / f"{patient}_frame{frame:02d}.nii.gz")
        if with_truth:
            truth = np.zeros((16, 16, 3), np.uint8)
            truth[4:12, 4:12] = 2
            truth[6:10, 6:10] = 3 if frame == 1 else 0
            truth[1:4, 4:12] = 1
            nib.save(nib.Nifti1Image(truth, AFFINE), root / f"{patient}_frame{frame:02d}_gt.nii.gz")


@pytest.fixture
def acdc_download(tmp_path: Path) -> Path:
    source = tmp_path / "ACDC"
    for n in range(1, 6):
        _acdc_patient(source / "training", n)
    _acdc_patient(source / "testing", 101)
    _acdc_patient(source / "testing", 102, with_truth=False)
    return source


def test_acdc_download(acdc_download: Path, tmp_path: Path) -> None:
    out = import_acdc(acdc_download, tmp_path / "nn", cine=True)
    assert check_dataset(out) == []
    ds = open_dataset(out)
    assert ds.class_names == ["background", "RV", "Myo", "LV"]
    assert len(ds.training_cases) == 12  # 5 training + 1 testing patient, ED and ES
    assert ds.test_cases == ["patient102_frame01", "patient102_frame02"]  # no masks: test
    assert ds.unlabeled_cases == [f"patient{n:03d}_cine{t:02d}" for n in range(1, 6)
                                  for t in (2, 4)]  # training patients' other frames only
    es = ds.load_case("patient001_frame02")
    assert es.geometry.spacing == (1.5, 1.5, 10.0) and es.geometry.spacing_known
    assert es.info["frame"] == 3 and es.info["weight_kg"] == 80.0
    assert not (es.label == 3).any()  # the ES truth written above, under the ES name
    splits = json.loads((out / "splits.json").read_text())
    assert splits["test"] == ["patient101_frame01", "patient101_frame02"]
    assert len(splits["val"]) == 2 and len(splits["labeled_patients_order"]) == 4
    config = load_config(None, [f"data.root={out}", "data.num_labeled=1"])
    split, source = resolve_split(ds, config.data, 0)
    val_patient = splits["val"][0].split("_")[0]
    assert f"{val_patient}_cine02" not in split.unlabeled  # val patient's frames left out
    assert "patient001_cine02" in split.unlabeled or "patient001_frame01" in split.val
    assert "2 unlabeled scans of val/test patients left out" in source


def test_acdc_download_errors(acdc_download: Path, tmp_path: Path) -> None:
    (acdc_download / "training" / "patient002" / "Info.cfg").unlink()
    with pytest.raises(DataError, match=r"patient002/Info\.cfg: missing"):
        import_acdc(acdc_download, tmp_path / "nn")
    with pytest.raises(DataError, match="no patientNNN folders"):
        import_acdc(tmp_path / "nothing", tmp_path / "nn2")


def _hc18_case(folder: Path, name: str, centre: tuple[int, int], closed: bool = True) -> None:
    seed = int.from_bytes(name.encode(), "little")  # a different picture per case
    image = np.random.default_rng(seed).integers(0, 255, (60, 80), dtype=np.uint8)
    Image.fromarray(image).save(folder / f"{name}.png")
    outline = np.zeros((60, 80), np.uint8)
    rr, cc = ellipse_perimeter(*centre, 20, 30, shape=outline.shape)
    outline[rr, cc] = 255
    if not closed:
        outline[:, centre[1]:centre[1] + 3] = 0
    Image.fromarray(outline).save(folder / f"{name}_Annotation.png")


@pytest.fixture
def hc18_download(tmp_path: Path) -> Path:
    source = tmp_path / "HC18"
    train, test = source / "training_set", source / "test_set"
    train.mkdir(parents=True)
    test.mkdir()
    names = ["000_HC", "001_HC", "001_2HC", "002_HC", "003_HC", "004_HC"]
    for i, name in enumerate(names):
        _hc18_case(train, name, (30, 40 + i % 2))
    with (source / "training_set_pixel_size_and_HC.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["filename", "pixel size(mm)", "head circumference (mm)"])
        w.writerows([f"{n}.png", 0.1 + i / 100, 150 + i] for i, n in enumerate(names))
    Image.fromarray(np.zeros((60, 80), np.uint8)).save(test / "100_HC.png")
    (source / "test_set_pixel_size.csv").write_text("filename,pixel size(mm)\n100_HC.png,0.2\n")
    return source


def test_hc18_download(hc18_download: Path, tmp_path: Path) -> None:
    out = import_hc18(hc18_download, tmp_path / "nn", val_fraction=0.4)
    assert check_dataset(out) == []
    ds = open_dataset(out)
    assert len(ds.training_cases) == 6 and ds.test_cases == ["100_HC"]
    case = ds.load_case("001_2HC")
    inside, line = np.zeros((60, 80), bool), np.zeros((60, 80), bool)
    inside[ellipse(30, 40, 20, 30, shape=inside.shape)] = True
    line[ellipse_perimeter(30, 40, 20, 30, shape=line.shape)] = True
    mask = case.label.astype(bool)
    assert not (inside & ~mask).any() and not (mask & ~(inside | line)).any()  # filled
    assert case.info == pytest.approx({"pixel_size_mm": 0.12, "head_circumference_mm": 152.0})
    assert case.geometry.spacing == pytest.approx((0.12, 0.12))
    splits = json.loads((out / "splits.json").read_text())
    assert {"001_HC", "001_2HC"} <= set(splits["val"]) or {"001_HC", "001_2HC"} <= set(
        splits["train"])  # one examination, one side
    assert sorted(splits["labeled_order"]) == sorted(splits["train"])
    transductive = import_hc18(hc18_download, tmp_path / "nn2", unlabeled_test=True)
    assert open_dataset(transductive).unlabeled_cases == ["100_HC"]


def test_hc18_errors(hc18_download: Path, tmp_path: Path) -> None:
    _hc18_case(hc18_download / "training_set", "009_HC", (30, 40), closed=False)
    with pytest.raises(DataError, match=r"009_HC_Annotation\.png: the annotation outline"):
        filled_outline(hc18_download / "training_set" / "009_HC_Annotation.png")
    with pytest.raises(DataError, match=r"009_HC\.png: not in the pixel-size csv"):
        import_hc18(hc18_download, tmp_path / "nn")
    with pytest.raises(DataError, match="training_set: missing"):
        import_hc18(tmp_path / "empty", tmp_path / "nn3")
    table = hc18_download / "training_set_pixel_size_and_HC.csv"
    table.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")  # a spreadsheet saved as .csv
    with pytest.raises(DataError, match=r"HC\.csv: not a readable CSV file"):
        import_hc18(hc18_download, tmp_path / "nn4")


def test_cli_imports_challenge_downloads(acdc_download: Path, hc18_download: Path,
                                         tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from semiseg.cli import main

    assert main(["data", "import", "acdc", str(acdc_download), str(tmp_path / "a"),
                 "--val-fraction", "0.4"]) == 0
    assert len(json.loads((tmp_path / "a" / "splits.json").read_text())["val"]) == 4
    assert open_dataset(tmp_path / "a").unlabeled_cases == []  # no --cine
    assert main(["data", "import", "hc18", str(hc18_download), str(tmp_path / "h"),
                 "--unlabeled-test"]) == 0
    assert "semiseg data check" in capsys.readouterr().out
    assert main(["data", "check", str(tmp_path / "h")]) == 0
    assert ("0 error(s), 0 warning(s) (6 labeled cases, 1 scans without masks, 0 test images)"
            in capsys.readouterr().out)
    assert main(["data", "import", "hc18", str(hc18_download), str(tmp_path / "h3"),
                 "--cine"]) != 0
    assert "--cine applies to acdc imports, not hc18" in capsys.readouterr().err
    (hc18_download / "test_set_pixel_size.csv").unlink()
    assert main(["data", "import", "hc18", str(hc18_download), str(tmp_path / "h2")]) != 0
    assert "test_set_pixel_size.csv: missing" in capsys.readouterr().err
