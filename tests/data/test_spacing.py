"""Voxel-size normalisation: factors, the median target, training and prediction."""

import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
import yaml
from torch import nn

from semiseg.config import DataConfig
from semiseg.data.check import check_dataset
from semiseg.data.io import Geometry, read_geometry
from semiseg.data.nnunet import open_dataset
from semiseg.data.spacing import median_spacing, resample_factors
from semiseg.errors import ConfigError, DataError
from semiseg.evaluation import Predictor
from tests.conftest import tiny_config

# the phantom's voxel size is 1.5 x 1.5 x 8 mm; these cases claim twice the in-plane size
COARSE = ("phantom003_frame01", "phantom003_frame02", "phantom004_frame01")


@pytest.fixture(scope="module")
def mixed_spacing(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny phantom with three cases re-labelled as 3 x 3 x 8 mm (as from another
    scanner: the same array, twice the voxel size in-plane)."""
    root = tmp_path_factory.mktemp("spacing") / "mixed"
    shutil.copytree(tiny_dataset, root)
    for case in COARSE:
        for path in (root / "imagesTr" / f"{case}_0000.nii.gz",
                     root / "labelsTr" / f"{case}.nii.gz"):
            img = nib.load(path)
            nib.save(nib.Nifti1Image(np.asarray(img.dataobj), np.diag([3.0, 3.0, 8.0, 1.0])),
                     path)
    return root


def test_factors_are_native_over_target_spacing() -> None:
    cfg = DataConfig(spatial_dims=3, patch_size=[8, 8, 8], target_spacing=[1.0, 1.0, 4.0])
    geo = Geometry(spacing=(0.5, 2.0, 8.0), spacing_known=True)
    assert resample_factors(cfg, geo, "x") == (0.5, 2.0, 2.0)
    assert resample_factors(DataConfig(spatial_dims=3, patch_size=[8, 8, 8]), geo, "x") is None
    half = DataConfig(spatial_dims=3, patch_size=[8, 8, 8], scale=0.5)
    assert resample_factors(half, None, "x") == (0.5, 0.5, 0.5)
    assert resample_factors(DataConfig(scale=0.5), geo, "x") is None  # 2D: slices resized
    with pytest.raises(DataError, match=r"^case\.nii\.gz: the file carries no voxel size"):
        resample_factors(cfg, Geometry(spacing=(1.0, 1.0, 1.0)), "case.nii.gz")


def test_median_target_from_headers(mixed_spacing: Path) -> None:
    dataset = open_dataset(mixed_spacing)
    ids = dataset.training_cases
    assert read_geometry(dataset.image_paths(COARSE[0])[0]).spacing == (3.0, 3.0, 8.0)
    # 3 of the 12 cases are coarse: the median is the phantom's own voxel size
    assert median_spacing(dataset, ids) == [1.5, 1.5, 8.0]
    assert median_spacing(dataset, [*COARSE[:2], ids[-1]]) == [3.0, 3.0, 8.0]
    warnings = [p for p in check_dataset(mixed_spacing) if "voxel sizes differ" in p]
    assert len(warnings) == 1 and "axis 0: 1.5-3 mm, axis 1: 1.5-3 mm" in warnings[0]
    assert "axis 2" not in warnings[0] and "target_spacing: median" in warnings[0]


def test_training_resamples_each_case_to_the_target(mixed_spacing: Path, tmp_path: Path) -> None:
    from semiseg.engine.loop import train
    from semiseg.engine.trainer import build_trainer

    overrides = ("method.name=supervised", "data.spatial_dims=3", "data.patch_size=[8, 8, 8]",
                 "train.iterations=2", "train.val_every=2", "model.channels=[4, 8]",
                 "model.dropout=[0, 0]", "data.num_labeled=3",
                 "data.target_spacing=[3.0, 3.0, 8.0]")
    trainer = build_trainer(tiny_config(mixed_spacing, *overrides))
    shapes = {tuple(img.shape[1:]) for img in trainer.data.labeled.images}
    # 1.5-mm cases are halved in-plane, the 3-mm ones stay: one voxel size for all
    assert shapes == {(16, 16, 4), (32, 32, 4)}
    assert trainer.data.val_cases[0].image.shape[1:] == (32, 32, 4)  # scored natively
    run = tmp_path / "median"
    train(tiny_config(mixed_spacing, *overrides[:-1], "data.target_spacing=median"), run)
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["data"]["target_spacing"] == [1.5, 1.5, 8.0]  # the numbers, for predict
    for pred in (run / "eval" / "predictions").iterdir():
        assert nib.load(pred).shape == (32, 32, 4)


class _ShapeRecorder(nn.Module):
    """Predicts background everywhere and records the input sizes it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.shapes: list[tuple[int, ...]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.shapes.append(tuple(x.shape[2:]))
        return torch.zeros(x.shape[0], 2, *x.shape[2:])


def test_prediction_resamples_by_the_case_voxel_size(tiny_dataset: Path) -> None:
    config = tiny_config(tiny_dataset, "data.spatial_dims=3", "data.patch_size=[64, 64, 8]",
                         "model.channels=[4, 8]", "model.dropout=[0, 0]",
                         "data.target_spacing=[1.0, 1.0, 4.0]")
    net = _ShapeRecorder()
    predictor = Predictor(net, config, torch.device("cpu"))
    image = np.zeros((1, 32, 32, 4), np.float32)
    geo = Geometry(spacing=(2.0, 2.0, 8.0), spacing_known=True)
    prob = predictor.probabilities(image, geometry=geo, name="c")
    assert net.shapes == [(64, 64, 8)]  # 32 voxels of 2 mm = 64 of 1 mm
    assert prob.shape == (2, 32, 32, 4)  # back on the native grid
    with pytest.raises(DataError, match=r"^c: the file carries no voxel size"):
        predictor.probabilities(image, geometry=Geometry(spacing=(1.0,) * 3), name="c")


@pytest.mark.parametrize("value, match", [
    ("[1.0, 1.0]", "must be 3 voxel sizes"),
    ("[1.0, 0, 1.0]", "must be 3 voxel sizes"),
    ("mean", "is not 'median'"),
])
def test_bad_target_spacing_names_the_key(tiny_dataset: Path, value: str, match: str) -> None:
    with pytest.raises(ConfigError, match=rf"data\.target_spacing.*{match}"):
        tiny_config(tiny_dataset, "data.spatial_dims=3", "data.patch_size=[8, 8, 8]",
                    "model.channels=[4, 8]", "model.dropout=[0, 0]",
                    f"data.target_spacing={value}")


def test_target_spacing_is_3d_only_and_excludes_scale(tiny_dataset: Path) -> None:
    with pytest.raises(ConfigError, match=r"data\.target_spacing.*for 3D networks"):
        tiny_config(tiny_dataset, "data.target_spacing=median")
    with pytest.raises(ConfigError, match=r"either it or data\.scale"):
        tiny_config(tiny_dataset, "data.spatial_dims=3", "data.patch_size=[8, 8, 8]",
                    "model.channels=[4, 8]", "model.dropout=[0, 0]", "data.scale=0.5",
                    "data.target_spacing=median")
