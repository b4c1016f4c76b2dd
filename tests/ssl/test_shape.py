import numpy as np
import pytest
import torch
import torch.nn.functional as F

from semiseg.metrics.ellipse import Ellipse, draw_ellipse, elliptic_radius
from semiseg.ssl.shape import contour_length, ellipse_label, mirror_grid, shape_scores

HEAD = Ellipse(cx=40.0, cy=30.0, a=25.0, b=16.0, theta=0.3)


def test_contour_length_of_a_square() -> None:
    mask = np.zeros((10, 10), bool)
    mask[2:5, 3:7] = True  # 3 x 4
    assert contour_length(mask) == 14


def test_filter_scores_keep_a_clean_mask_and_reject_a_fragmented_one() -> None:
    clean = draw_ellipse((60, 80), HEAD)
    boundary, regularity, ellipse = shape_scores(clean)
    assert boundary > 0.97 and regularity > 0.85
    assert ellipse.a == pytest.approx(25, abs=0.5)
    rng = np.random.default_rng(0)
    fragmented = clean & (rng.random(clean.shape) > 0.3)  # speckled holes
    fragmented[:, 38:42] = False  # split in two
    fragmented[5:9, 70:76] = True  # a stray blob
    b2, r2, _ = shape_scores(fragmented)
    assert b2 * r2 < 0.5 < boundary * regularity
    assert shape_scores(np.zeros((8, 8), bool)) == (0.0, 0.0, None)


def test_refined_label_is_the_ellipse_with_weights_low_on_the_outline() -> None:
    label, weight = ellipse_label(elliptic_radius((60, 80), HEAD), band=0.1)
    assert np.array_equal(label, draw_ellipse((60, 80), HEAD))
    assert weight[30, 40] == 1.0 and weight[0, 0] == 1.0  # centre, far outside
    edge = round(HEAD.cx + HEAD.a * np.cos(HEAD.theta))
    row = round(HEAD.cy + HEAD.a * np.sin(HEAD.theta))
    assert weight[row, edge] < 0.6
    assert weight.min() >= 0.5


def test_mirror_about_the_axis_of_a_symmetric_ellipse() -> None:
    mask = torch.from_numpy(draw_ellipse((60, 80), HEAD)).float()[None, None]
    grid = mirror_grid(HEAD, (60, 80))
    mirrored = F.grid_sample(mask, grid, mode="nearest", align_corners=True)
    assert (mirrored != mask).float().mean() < 0.01  # the ellipse is its own mirror image
    rows, cols = torch.meshgrid(torch.arange(60.0), torch.arange(80.0), indexing="ij")
    x = (torch.sin(cols / 7) + torch.cos(rows / 5))[None, None]  # smooth, so interpolation is close
    twice = F.grid_sample(F.grid_sample(x, grid, align_corners=True), grid, align_corners=True)
    inner = draw_ellipse((60, 80), Ellipse(40, 30, 15, 10, 0.3))  # away from the borders
    assert torch.allclose(twice[0, 0][inner], x[0, 0][inner], atol=0.05)
    # a point is reflected across the major axis: the axis' normal flips sign
    g = mirror_grid(Ellipse(40, 30, 25, 16, 0.0), (60, 80))
    x_px = (g[0, 20, 40, 0] + 1) / 2 * 79
    y_px = (g[0, 20, 40, 1] + 1) / 2 * 59
    assert float(x_px) == pytest.approx(40) and float(y_px) == pytest.approx(40)
