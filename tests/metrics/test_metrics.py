import math

import numpy as np
import pytest

from semiseg.metrics import case_metrics, dice, jaccard, summarize, surface_metrics
from tests.conftest import acdc_or_skip

medpy_binary = pytest.importorskip("medpy.metric.binary")


def square(shape, lo, hi):
    m = np.zeros(shape, dtype=bool)
    m[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))] = True
    return m


def test_dice_and_jaccard_by_hand() -> None:
    a = square((10, 10), (0, 0), (4, 4))  # 16 voxels
    b = square((10, 10), (2, 0), (6, 4))  # 16 voxels, 8 shared
    assert dice(a, b) == pytest.approx(2 * 8 / 32)
    assert jaccard(a, b) == pytest.approx(8 / 24)


def test_shifted_square_distances_by_hand() -> None:
    # a 5x5 square moved by 3 voxels along axis 0: every surface distance is 0 or 3 at most
    a = square((20, 20), (5, 5), (10, 10))
    b = square((20, 20), (8, 5), (13, 10))
    out = surface_metrics(a, b)
    assert out["hd95"] == pytest.approx(3.0)
    # spacing scales distances along that axis
    assert surface_metrics(a, b, spacing=(2.0, 1.0))["hd95"] == pytest.approx(6.0)


def test_identical_masks_have_zero_distance() -> None:
    a = square((12, 12, 6), (2, 3, 1), (9, 10, 5))
    assert surface_metrics(a, a) == {"hd95": 0.0, "asd": 0.0, "assd": 0.0}


def test_empty_policies() -> None:
    a = square((10, 10), (2, 2), (5, 5))
    empty = np.zeros((10, 10), dtype=bool)
    assert surface_metrics(empty, empty) == {"hd95": 0.0, "asd": 0.0, "assd": 0.0}
    diag = math.sqrt(9**2 + 9**2)
    assert surface_metrics(empty, a)["hd95"] == pytest.approx(diag)
    assert surface_metrics(a, empty, empty_value=float("nan"))["asd"] != 0
    assert dice(empty, empty) == 1.0 and dice(a, empty) == 0.0
    rows = case_metrics(np.zeros((10, 10), int), a.astype(int), ["bg", "fg"],
                        empty_distance="nan")
    assert math.isnan(rows[0]["hd95"]) and rows[0]["pred_empty"]


@pytest.mark.parametrize("seed", range(6))
def test_against_medpy_random_blobs(seed: int) -> None:
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    shape = (30, 28, 9) if seed % 2 else (40, 36)
    a = ndimage.gaussian_filter(rng.random(shape), 2) > 0.5
    b = ndimage.gaussian_filter(rng.random(shape), 2) > 0.5
    if not (a.any() and b.any()):
        pytest.skip("degenerate draw")
    spacing = (1.5, 0.7, 5.0)[: len(shape)]
    ours = surface_metrics(a, b, spacing)
    assert ours["hd95"] == pytest.approx(medpy_binary.hd95(a, b, voxelspacing=spacing), rel=1e-9)
    assert ours["asd"] == pytest.approx(medpy_binary.asd(a, b, voxelspacing=spacing), rel=1e-9)
    assert ours["assd"] == pytest.approx(medpy_binary.assd(a, b, voxelspacing=spacing), rel=1e-9)
    assert dice(a, b) == pytest.approx(medpy_binary.dc(a, b))
    assert jaccard(a, b) == pytest.approx(medpy_binary.jc(a, b))


def test_mask_touching_the_border_matches_medpy() -> None:
    a = square((16, 16), (0, 0), (7, 16))
    b = square((16, 16), (0, 2), (9, 12))
    assert surface_metrics(a, b)["hd95"] == pytest.approx(medpy_binary.hd95(a, b))
    assert surface_metrics(a, b)["asd"] == pytest.approx(medpy_binary.asd(a, b))


@pytest.mark.acdc
def test_against_medpy_on_real_acdc_volumes() -> None:
    """A perturbed ground truth (eroded / shifted) of real ACDC volumes vs medpy."""
    from scipy import ndimage

    from semiseg.data.nnunet import open_dataset

    ds = open_dataset(acdc_or_skip())
    for case_id in ds.training_cases[:3]:
        truth = ds.load_case(case_id).label
        pred = np.roll(truth, 2, axis=0)
        pred[ndimage.binary_erosion(truth == 2, iterations=1)] = 0
        for row in case_metrics(pred, truth, ds.class_names):
            k = ds.class_names.index(row["class"])
            p, t = pred == k, truth == k
            assert row["dice"] == pytest.approx(medpy_binary.dc(p, t))
            assert row["jaccard"] == pytest.approx(medpy_binary.jc(p, t))
            assert row["hd95"] == pytest.approx(medpy_binary.hd95(p, t), rel=1e-9)
            assert row["asd"] == pytest.approx(medpy_binary.asd(p, t), rel=1e-9)


def test_summary_mean_and_std() -> None:
    rows = [{"case": "a", "class": "x", "dice": 0.5}, {"case": "a", "class": "y", "dice": 1.0},
            {"case": "b", "class": "x", "dice": 0.7}, {"case": "b", "class": "y", "dice": 0.9}]
    s = summarize(rows, metrics=("dice",))
    assert s["per_class"]["x"]["dice"]["mean"] == pytest.approx(0.6)
    assert s["per_class"]["x"]["dice"]["std"] == pytest.approx(0.1)
    assert s["mean"]["dice"]["mean"] == pytest.approx(0.775)
