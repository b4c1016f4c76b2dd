"""The Medical Segmentation Decathlon importer, on tiny fake MSD tasks (3D and 4D)."""

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from semiseg.cli import main
from semiseg.data.check import check_dataset
from semiseg.data.io import read_image
from semiseg.data.msd import import_msd
from semiseg.data.nnunet import open_dataset
from semiseg.errors import DataError

AFFINE = np.array([[0.0, 0.0, 1.37, -120.0], [0.0, 1.25, 0.0, -90.0],
                   [-1.25, 0.0, 0.0, 80.0], [0.0, 0.0, 0.0, 1.0]])  # oblique-free, permuted


def _fake_task(root: Path, channels: int, cases: int = 5, tests: int = 2) -> Path:
    """An MSD-like task: ``cases`` labeled cases (labels 0..2), ``tests`` test images."""
    rng = np.random.default_rng(channels)
    for folder in ("imagesTr", "labelsTr", "imagesTs"):
        (root / folder).mkdir(parents=True)
    shape = (12, 10, 6) + ((channels,) if channels > 1 else ())
    training, test = [], []
    for i in range(cases):
        name = f"task_{i:03d}.nii.gz"
        image = rng.normal(size=shape).astype(np.float32)
        label = np.zeros((12, 10, 6), np.uint8)
        label[2:8, 2:6, 1:4] = 1
        label[3:5, 3:5, 2] = 2
        nib.save(nib.Nifti1Image(image, AFFINE), root / "imagesTr" / name)
        nib.save(nib.Nifti1Image(label, AFFINE), root / "labelsTr" / name)
        training.append({"image": f"./imagesTr/{name}", "label": f"./labelsTr/{name}"})
    for i in range(tests):
        name = f"task_{100 + i:03d}.nii.gz"
        nib.save(nib.Nifti1Image(rng.normal(size=shape).astype(np.float32), AFFINE),
                 root / "imagesTs" / name)
        test.append(f"./imagesTs/{name}")
    (root / "imagesTr" / "._task_000.nii.gz").write_bytes(b"macOS resource fork")
    training.append({"image": "./imagesTr/._task_000.nii.gz",
                     "label": "./labelsTr/._task_000.nii.gz"})
    modality = {str(c): name for c, name in enumerate(["T1", "T2", "FLAIR"][:channels])}
    meta = {"name": "Fake", "tensorImageSize": "4D" if channels > 1 else "3D",
            "modality": modality, "labels": {"0": "background", "1": "organ", "2": "tumour"},
            "numTraining": cases, "numTest": tests, "training": training, "test": test}
    (root / "dataset.json").write_text(json.dumps(meta))
    return root


@pytest.mark.parametrize("channels", [1, 3])
def test_import_keeps_channels_geometry_and_labels(channels: int, tmp_path: Path) -> None:
    src = _fake_task(tmp_path / "Task99_Fake", channels)
    out = import_msd(src, tmp_path / "out", val_fraction=0.4, seed=1)
    assert not [p for p in check_dataset(out) if not p.startswith("warning:")]
    ds = open_dataset(out)
    assert ds.num_channels == channels and ds.class_names == ["background", "organ", "tumour"]
    assert len(ds.training_cases) == 5  # the ._ file is skipped
    original = nib.load(src / "imagesTr" / "task_002.nii.gz")
    for c in range(channels):
        written = nib.load(out / "imagesTr" / f"task_002_{c:04d}.nii.gz")
        assert np.allclose(written.affine, original.affine)
        expected = np.asanyarray(original.dataobj)
        expected = expected[..., c] if channels > 1 else expected
        assert np.array_equal(np.asanyarray(written.dataobj), expected)
    label, geometry = read_image(out / "labelsTr" / "task_002.nii.gz")
    assert nib.load(out / "labelsTr" / "task_002.nii.gz").get_data_dtype() == np.uint8
    assert set(np.unique(label)) == {0, 1, 2}
    assert np.allclose(sorted(geometry.spacing), [1.25, 1.25, 1.37])
    assert len(list((out / "imagesTs").glob("*_0000.nii.gz"))) == 2
    splits = json.loads((out / "splits.json").read_text())
    assert len(splits["val"]) == 2 and not set(splits["val"]) & set(splits["train"])
    assert splits["labeled_order"] == splits["train"] and len(splits["test"]) == 2


def test_bad_tasks_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"dataset\.json: missing"):
        import_msd(tmp_path, tmp_path / "o1")
    src = _fake_task(tmp_path / "T", 1)
    wrong = np.full((12, 10, 6), 7, np.uint8)
    nib.save(nib.Nifti1Image(wrong, AFFINE), src / "labelsTr" / "task_001.nii.gz")
    with pytest.raises(DataError, match=r"task_001.nii.gz: label values \[7\]"):
        import_msd(src, tmp_path / "o2")
    (src / "imagesTr" / "task_003.nii.gz").unlink()
    meta = json.loads((src / "dataset.json").read_text())
    meta["training"] = meta["training"][2:]  # task_001's bad label no longer listed
    (src / "dataset.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match=r"task_003\.nii\.gz: listed in dataset\.json but missing"):
        import_msd(src, tmp_path / "o3")
    meta["modality"] = {"0": "T1", "1": "T2"}
    meta["training"] = meta["training"][2:]
    (src / "dataset.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match=r"expected 2 channel\(s\)"):
        import_msd(src, tmp_path / "o4")


def test_cli_import_msd(tmp_path: Path, capsys) -> None:
    src = _fake_task(tmp_path / "Task99_Fake", 1)
    assert main(["data", "import", "msd", str(src), str(tmp_path / "out"), "--seed", "3"]) == 0
    assert "semiseg data check" in capsys.readouterr().out
    assert main(["data", "import", "msd", str(src), str(tmp_path / "o2"), "--cine"]) == 2
    assert "--cine applies to acdc imports, not msd" in capsys.readouterr().err
