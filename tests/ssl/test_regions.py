import itertools

import pytest
import torch

from semiseg.ssl.regions import (
    best_window,
    box_sums,
    confident_windows,
    low_confidence_boxes,
    paste_boxes,
)


@pytest.mark.parametrize("shape,sides", [((7, 9), (3, 2)), ((5, 4, 6), (2, 4, 3))])
def test_box_sums_match_brute_force(shape, sides) -> None:
    torch.manual_seed(0)
    x = torch.rand(shape, dtype=torch.float64)
    sums = box_sums(x, sides)
    assert sums.shape == tuple(n - s + 1 for n, s in zip(shape, sides, strict=True))
    for start in itertools.product(*[range(m) for m in sums.shape]):
        window = tuple(slice(i, i + s) for i, s in zip(start, sides, strict=True))
        assert sums[start] == pytest.approx(float(x[window].sum()), abs=1e-9)


def test_best_window_finds_the_hot_spot() -> None:
    score = torch.zeros(10, 12)
    score[6:9, 2:5] = 1.0
    assert best_window(score, (3, 3)) == [6, 2]


def test_largest_low_confidence_component_is_boxed() -> None:
    conf = torch.ones(2, 16, 16)
    conf[0, 2:4, 2:4] = 0.1  # small doubtful blob
    conf[0, 8:13, 5:11] = 0.2  # the largest one: rows 8-12, cols 5-10
    conf[0, 9, 7] = 0.99  # a confident hole keeps it one component with the same box
    starts, sides = low_confidence_boxes(conf, 0.5, 0.5)
    assert starts[0].tolist() == [8, 5] and sides[0].tolist() == [5, 6]
    assert sides[1].tolist() == [0, 0]  # nothing below the threshold


def test_box_is_cut_to_the_maximum_side_where_the_component_is() -> None:
    conf = torch.ones(1, 16, 16)
    conf[0, 1:15, 3:5] = 0.1  # a tall thin region, 14 x 2
    conf[0, 10:15, 3:9] = 0.1  # thicker at the bottom
    starts, sides = low_confidence_boxes(conf, 0.5, 0.25)
    assert sides[0].tolist() == [4, 4]
    r, c = starts[0].tolist()
    assert 10 <= r <= 11 and 3 <= c <= 5  # a 4x4 window fully inside the region


def test_paste_copies_the_most_confident_window_of_the_other_view() -> None:
    view, other = torch.zeros(1, 2, 8, 8), torch.arange(128.0).reshape(1, 2, 8, 8)
    conf_other = torch.zeros(1, 8, 8)
    conf_other[0, 5:7, 1:4] = 1.0
    sides = torch.tensor([[2, 3]])
    src = confident_windows(conf_other, sides)
    assert src[0].tolist() == [5, 1]
    out = paste_boxes(view, other, torch.tensor([[0, 4]]), src, sides)
    assert torch.equal(out[0, :, 0:2, 4:7], other[0, :, 5:7, 1:4])
    out[0, :, 0:2, 4:7] = 0
    assert out.abs().sum() == 0  # nothing else changed
    untouched = paste_boxes(view, other, src, src, torch.zeros_like(sides))
    assert torch.equal(untouched, view)
