"""Pictures: which slices a preview shows, and that it is a real image of the case."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from semiseg.visualize import preview_slices, save_preview


def test_preview_slices_spread_over_the_labelled_extent() -> None:
    label = np.zeros((8, 8, 20), np.uint8)
    label[2:5, 2:5, 6:16] = 1  # labelled slices 6..15
    assert preview_slices(label, -1) == [6, 9, 12, 15]
    assert preview_slices(label, -1, count=2) == [6, 15]
    label[:] = 0
    label[3, 3, 4] = 2  # one labelled slice
    assert preview_slices(label, -1) == [4]
    assert preview_slices(np.zeros((8, 8, 20), np.uint8), -1) == [10]  # none: the middle
    assert preview_slices(np.moveaxis(label, -1, 0), 0) == [4]


@pytest.mark.parametrize("shape", [(32, 48), (24, 24, 10)])
def test_preview_is_a_png_with_the_labels_coloured(tmp_path: Path, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(0)
    image = rng.normal(size=(1, *shape)).astype(np.float32)
    label = np.zeros(shape, np.uint8)
    label[4:12, 4:12] = 1
    path = save_preview(image, label, ["background", "head"], -1, "case7", tmp_path / "p.png")
    pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
    assert pixels.shape[0] > 150 and pixels.shape[1] > 200
    red = (pixels[..., 0] > 150) & (pixels[..., 1] < 120) & (pixels[..., 2] < 140)
    assert red.sum() > 50  # the label's colour (class 1) is drawn
    assert [p.name for p in tmp_path.iterdir()] == ["p.png"]  # no temporary left
