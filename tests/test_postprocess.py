"""Connected-component post-processing: hand-made maps, then through evaluate and predict."""

from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from semiseg.api import evaluate_predictions_folder, evaluate_run
from semiseg.data.io import read_image, write_label
from semiseg.data.nnunet import open_dataset
from semiseg.data.synthetic import generate
from semiseg.errors import SemisegError
from semiseg.postprocess import postprocess_labels


def _heart_with_islands() -> np.ndarray:
    """A 12x12 map: touching classes 1-2-3 (a "heart" of 20 voxels), a 6-voxel island of
    class 3 (larger than the heart's own 4 voxels of class 3), a speck of class 1."""
    labels = np.zeros((12, 12), np.uint8)
    labels[2:6, 2:4] = 1
    labels[2:6, 4:6] = 2
    labels[2:6, 6:7] = 3
    labels[9:11, 8:11] = 3
    labels[0, 11] = 1
    return labels


def test_largest_foreground_keeps_the_touching_structures_only() -> None:
    labels = _heart_with_islands()
    out = postprocess_labels(labels, "largest_foreground")
    expected = labels.copy()
    expected[9:11, 8:11] = 0
    expected[0, 11] = 0
    assert np.array_equal(out, expected) and out.dtype == labels.dtype


def test_largest_per_class_keeps_each_class_largest_blob() -> None:
    labels = _heart_with_islands()
    out = postprocess_labels(labels, "largest_per_class")
    expected = labels.copy()
    expected[0, 11] = 0
    expected[2:6, 6:7] = 0  # the island of class 3 is larger: the heart's part goes
    assert np.array_equal(out, expected)


def test_corner_contact_connects_and_3d_works() -> None:
    labels = np.zeros((4, 6, 6), np.uint8)
    labels[0, 0, 0] = 1
    labels[1, 1, 1] = 1          # touches (0, 0, 0) only through a corner
    labels[3, 5, 5] = 2          # alone
    out = postprocess_labels(labels, "largest_foreground")
    assert out[0, 0, 0] == 1 and out[1, 1, 1] == 1 and out[3, 5, 5] == 0


def test_empty_and_none_and_unknown_mode() -> None:
    empty = np.zeros((5, 5), np.uint8)
    for mode in ("largest_foreground", "largest_per_class"):
        assert not postprocess_labels(empty, mode).any()
    labels = _heart_with_islands()
    assert postprocess_labels(labels, "none") is labels
    with pytest.raises(ValueError, match="postprocess mode 'biggest'"):
        postprocess_labels(labels, "biggest")


@pytest.fixture(scope="module")
def roomy_phantom(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 phantom patients of 64x64x4: room around the heart for an island."""
    return generate(tmp_path_factory.mktemp("data") / "roomy", num_patients=3, seed=3,
                    shape=(64, 64, 4), val_patients=1)


def _islanded_truth_folder(dataset_root: Path, out: Path) -> list[str]:
    """Write ED labels (one connected heart in the phantom) plus a far island as predictions."""
    dataset = open_dataset(dataset_root)
    ids = [c for c in dataset.training_cases if c.endswith("frame01")][:4]
    out.mkdir()
    for case_id in ids:
        label, geometry = read_image(dataset_root / "labelsTr" / f"{case_id}.nii.gz")
        label = label.astype(np.uint8)
        assert ndimage.label(label > 0, np.ones((3, 3, 3), bool))[1] == 1  # one heart
        # a "second RV": voxels at least 3 voxels from the heart, near the farthest one
        far = ndimage.distance_transform_edt(label == 0)
        x, y, _ = np.unravel_index(far.argmax(), far.shape)
        box = np.zeros_like(label, bool)
        box[max(x - 3, 0):x + 4, max(y - 3, 0):y + 4] = True
        label[box & (far >= 3)] = 1
        assert ndimage.label(label > 0, np.ones((3, 3, 3), bool))[1] == 2  # apart from it
        write_label(out / f"{case_id}.nii.gz", label, geometry)
    return ids


def test_evaluate_prediction_folder_with_postprocess(roomy_phantom: Path, tmp_path: Path) -> None:
    ids = _islanded_truth_folder(roomy_phantom, tmp_path / "pred")
    cases = tmp_path / "cases.txt"
    cases.write_text("\n".join(ids))
    raw, _ = evaluate_predictions_folder(tmp_path / "pred", str(roomy_phantom), None, str(cases),
                                         tmp_path / "raw")
    clean, _ = evaluate_predictions_folder(tmp_path / "pred", str(roomy_phantom), None,
                                           str(cases), tmp_path / "clean", "largest_foreground")
    assert raw["mean"]["dice"]["mean"] < 1.0 and raw["mean"]["asd"]["mean"] > 0.1
    assert clean["mean"]["dice"]["mean"] == pytest.approx(1.0)
    assert clean["mean"]["asd"]["mean"] == 0.0 and clean["mean"]["hd95"]["mean"] == 0.0
    with pytest.raises(SemisegError, match="--postprocess biggest"):
        evaluate_predictions_folder(tmp_path / "pred", str(roomy_phantom), None, str(cases),
                                    tmp_path / "bad", "biggest")


def test_evaluate_run_applies_the_override(tiny_supervised_run: Path, tmp_path: Path) -> None:
    _, out = evaluate_run(tiny_supervised_run, out=tmp_path / "ev",
                          postprocess="largest_foreground")
    for path in (out / "predictions").glob("*.nii.gz"):
        pred, _ = read_image(path)
        assert ndimage.label(pred > 0, np.ones((3, 3, 3), bool))[1] <= 1, path.name
