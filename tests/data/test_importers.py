import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from semiseg.data.check import check_dataset
from semiseg.data.importers import import_image_folder, import_ssl4mis_acdc, import_ssl4mis_la
from semiseg.data.nnunet import open_dataset
from semiseg.data.splits import load_split
from semiseg.errors import DataError


def _fake_ssl4mis(root: Path) -> Path:
    rng = np.random.default_rng(0)
    (root / "data" / "slices").mkdir(parents=True)
    cases = {"train": ["patient002_frame01", "patient002_frame02", "patient001_frame01",
                       "patient001_frame02", "patient003_frame01"],
             "val": ["patient004_frame01"], "test": ["patient005_frame01"]}
    for case in [c for part in cases.values() for c in part]:
        with h5py.File(root / "data" / f"{case}.h5", "w") as f:
            f["image"] = rng.random((3, 20, 24)).astype(np.float32)
            f["label"] = rng.integers(0, 4, (3, 20, 24)).astype(np.uint8)
    slices = [f"{c}_slice_{k}" for c in cases["train"] for k in (1, 2, 3)]
    (root / "train_slices.list").write_text("\n".join(slices))
    (root / "val.list").write_text("\n".join(cases["val"]))
    (root / "test.list").write_text("\n".join(cases["test"]))
    return root


def test_ssl4mis_acdc_import(tmp_path: Path) -> None:
    src = _fake_ssl4mis(tmp_path / "ACDC")
    out = import_ssl4mis_acdc(src, tmp_path / "nn")
    (warning,) = check_dataset(out)  # the h5 files carry no spacing: said once
    assert warning.startswith("warning:") and "7 of 7 cases carry no voxel size" in warning
    ds = open_dataset(out)
    case = ds.load_case("patient002_frame01")
    with h5py.File(src / "data" / "patient002_frame01.h5") as f:
        np.testing.assert_allclose(case.image[0], np.asarray(f["image"]).transpose(1, 2, 0))
    split = load_split(out / "splits.json", num_labeled=1)
    assert split.labeled == ["patient002_frame01", "patient002_frame02"]  # SSL4MIS order
    assert split.test == ["patient005_frame01"]


def _fake_la(root: Path, train: list[str], test: list[str]) -> Path:
    rng = np.random.default_rng(1)
    for case in train + test:
        folder = root / "2018LA_Seg_Training Set" / case
        folder.mkdir(parents=True)
        with h5py.File(folder / "mri_norm2.h5", "w") as f:
            f["image"] = rng.normal(size=(12, 10, 8)).astype(np.float32)
            f["label"] = (rng.random((12, 10, 8)) > 0.7).astype(np.uint8)
    (root / "train.list").write_text("\n".join(train) + "\n")
    (root / "test.list").write_text("\n".join(test))
    return root


def test_ssl4mis_la_import(tmp_path: Path) -> None:
    train = [f"CASE{i}" for i in (7, 3, 9, 1, 5)]
    src = _fake_la(tmp_path / "LA", train, ["CASE8"])
    out = import_ssl4mis_la(src, tmp_path / "nn", spacing=0.625)
    assert check_dataset(out) == []
    case = open_dataset(out).load_case("CASE3")
    assert case.geometry.spacing == (0.625, 0.625, 0.625) and case.geometry.spacing_known
    with h5py.File(src / "2018LA_Seg_Training Set" / "CASE3" / "mri_norm2.h5") as f:
        np.testing.assert_allclose(case.image[0], np.asarray(f["image"]))
    split = load_split(out / "splits.json", num_labeled=2)
    assert len(split.val) == 1 and split.test == ["CASE8"]
    assert split.labeled == [c for c in train if c not in split.val][:2]  # train.list order
    (src / "2018LA_Seg_Training Set" / "CASE9" / "mri_norm2.h5").unlink()
    with pytest.raises(DataError, match=r"CASE9/mri_norm2\.h5: listed in train\.list"):
        import_ssl4mis_la(src, tmp_path / "nn2")


def test_ssl4mis_missing_list(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    with pytest.raises(DataError, match=r"train_slices\.list: missing \(an SSL4MIS ACDC"):
        import_ssl4mis_acdc(tmp_path / "x", tmp_path / "nn")
    with pytest.raises(DataError, match=r"train\.list: missing \(an SSL4MIS LA folder"):
        import_ssl4mis_la(tmp_path / "x", tmp_path / "nn")


def test_image_folder_import_with_partial_masks(tmp_path: Path) -> None:
    images, masks = tmp_path / "img", tmp_path / "msk"
    images.mkdir()
    masks.mkdir()
    for i in range(3):
        Image.fromarray(np.full((30, 40), 50 * i, np.uint8)).save(images / f"scan {i}.png")
    for i in range(2):
        m = np.zeros((30, 40), np.uint8)
        m[5:15, 5:15] = 255
        m[20:25, 20:30] = 128
        Image.fromarray(m).save(masks / f"scan {i}.png")
    out = import_image_folder(images, tmp_path / "nn", masks, ["a", "b"])
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["labels"] == {"background": 0, "a": 1, "b": 2} and meta["numTraining"] == 2
    assert check_dataset(out) == []
    assert (out / "imagesUnlabeled" / "scan_2_0000.png").is_file()  # no mask: unlabeled
    assert open_dataset(out).unlabeled_cases == ["scan_2"]
    lab = open_dataset(out).load_case("scan_0").label
    assert set(np.unique(lab)) == {0, 1, 2} and lab[10, 10] == 2


def test_image_folder_mask_shape_mismatch(tmp_path: Path) -> None:
    (tmp_path / "i").mkdir()
    (tmp_path / "m").mkdir()
    Image.fromarray(np.zeros((30, 40), np.uint8)).save(tmp_path / "i" / "a.png")
    Image.fromarray(np.zeros((31, 40), np.uint8)).save(tmp_path / "m" / "a.png")
    with pytest.raises(DataError, match="differs from image"):
        import_image_folder(tmp_path / "i", tmp_path / "nn", tmp_path / "m")
