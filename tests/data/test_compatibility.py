"""Warnings of predict about inputs unlike the training scans (voxel size, orientation)."""

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from semiseg.data.io import Geometry, axis_codes
from semiseg.data.profile import PROFILE_FILE
from semiseg.engine.loop import train
from semiseg.predict import predict_folder
from tests.conftest import tiny_config

BASE_3D = ("method.name=supervised", "data.spatial_dims=3", "data.patch_size=[8, 8, 8]",
           "train.iterations=1", "train.val_every=1", "model.channels=[4, 8]",
           "model.dropout=[0, 0]")


@pytest.fixture(scope="module")
def scans(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One phantom image stored three ways: as trained (1.5 x 1.5 x 8 mm, RAS), at twice
    the in-plane voxel size, and mirrored left-right in its affine (LAS)."""
    folder = tmp_path_factory.mktemp("scans")
    img = nib.load(tiny_dataset / "imagesTr" / "phantom001_frame01_0000.nii.gz")
    data = np.asarray(img.dataobj)
    for case, affine in (("same", np.diag([1.5, 1.5, 8, 1])),
                         ("coarse", np.diag([3.0, 3.0, 8, 1])),
                         ("mirrored", np.diag([-1.5, 1.5, 8, 1]))):
        nib.save(nib.Nifti1Image(data, affine), folder / f"{case}_0000.nii.gz")
    return folder


def test_axis_codes() -> None:
    assert axis_codes(Geometry((1.5, 1.5, 8), np.diag([1.5, 1.5, 8, 1]), None, True)) == "RAS"
    # affine columns = world directions of the array axes: -y (P), +z (S), +x (R)
    turned = np.array([[0, 0, 8, 0], [-1.5, 0, 0, 0], [0, 1.5, 0, 0], [0, 0, 0, 1.0]])
    assert axis_codes(Geometry((1.5, 1.5, 8), turned, None, True)) == "PSR"
    assert axis_codes(Geometry((1.0, 1.0))) is None  # PNG: no geometry
    assert axis_codes(Geometry((1.0,) * 3, np.eye(4), None, False)) is None


@pytest.mark.parametrize("name, extra, expected", [
    ("blind", (), ["1 of 3 images differ by more than 15% in voxel size",
                   "1 of 3 images are stored in another orientation"]),
    ("target", ("data.target_spacing=median",), ["1 of 3 images are stored in another"]),
    ("2d", ("data.spatial_dims=2", "data.patch_size=[32, 32]"),
     ["1 of 3 images are stored in another"]),
])
def test_predict_warns_about_inputs_unlike_the_training_scans(
        tiny_dataset: Path, scans: Path, tmp_path: Path, name: str, extra: tuple[str, ...],
        expected: list[str]) -> None:
    train(tiny_config(tiny_dataset, *BASE_3D, *extra), tmp_path / name)
    said: list[str] = []
    written, _ = predict_folder(tmp_path / name, scans, tmp_path / "out", warn=said.append)
    assert len(written) == 3
    assert [s[:len(e)] for s, e in zip(said, expected, strict=True)] == expected, said
    if name == "blind":
        assert "coarse_0000.nii.gz (3 x 3 x 8 mm)" in said[0]
        assert "training scans' 1.5 x 1.5 x 8 mm" in said[0]
        # a run trained before data profiles: the same from its data set's headers
        (tmp_path / name / PROFILE_FILE).unlink()
        again: list[str] = []
        predict_folder(tmp_path / name, scans, tmp_path / "out-old", warn=again.append)
        assert again == said
    assert "(RAS; e.g. " in said[-1] and "mirrored_0000.nii.gz (LAS)" in said[-1]


def test_data_check_warns_about_mixed_orientations(tiny_dataset: Path, tmp_path: Path) -> None:
    import shutil

    from semiseg.data.check import check_dataset

    root = tmp_path / "mixed"
    shutil.copytree(tiny_dataset, root)
    for path in (root / "imagesTr" / "phantom003_frame01_0000.nii.gz",
                 root / "labelsTr" / "phantom003_frame01.nii.gz"):
        img = nib.load(path)
        nib.save(nib.Nifti1Image(np.asarray(img.dataobj), np.diag([-1.5, 1.5, 8, 1])), path)
    warnings = [p for p in check_dataset(root) if "orientations" in p]
    assert warnings == [f"warning: {root}: cases are stored in 2 orientations (RAS: 11, e.g. "
                        "phantom001_frame01, LAS: 1, e.g. phantom003_frame01); a network sees "
                        "the minority mirrored or turned: reorient them to RAS first"]
    assert not [p for p in check_dataset(tiny_dataset) if "orientations" in p]
