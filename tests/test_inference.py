import numpy as np
import torch
from torch import nn

from semiseg.inference import (
    gaussian_importance,
    predict_case,
    predict_slices,
    predict_sliding_window,
)


class OneHotIdentity(nn.Module):
    """Logits that make argmax return the (integer) input value."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 10 * nn.functional.one_hot(x[:, 0].round().long(), self.k).movedim(-1, 1).float()


def test_sliding_window_of_identity_returns_input() -> None:
    labels = torch.randint(0, 3, (1, 23, 17, 9)).float()
    prob = predict_sliding_window(OneHotIdentity(3), labels, [8, 8, 8], overlap=0.5)
    assert torch.equal(prob.argmax(0).float(), labels[0])
    assert prob.shape == (3, 23, 17, 9)


def test_sliding_window_pads_small_volumes() -> None:
    labels = torch.randint(0, 2, (1, 5, 6, 7)).float()
    prob = predict_sliding_window(OneHotIdentity(2), labels, [8, 8, 8])
    assert torch.equal(prob.argmax(0).float(), labels[0])


def test_gaussian_importance_is_positive_with_peak_in_the_centre() -> None:
    w = gaussian_importance([9, 9])
    assert w.min() > 0 and w[4, 4] == w.max() == 1


def test_slicewise_prediction_keeps_native_shape_and_axis() -> None:
    image = torch.zeros(1, 20, 30, 5)
    image[0, :, :, 2] = 1.0  # slice 2 along the last axis is all ones
    prob = predict_slices(OneHotIdentity(2), image, slice_axis=-1, size=[20, 30])
    assert prob.shape == (2, 20, 30, 5)
    assert prob.argmax(0)[:, :, 2].all() and not prob.argmax(0)[:, :, 1].any()


def test_predict_case_2d_resizes_and_returns_uint8() -> None:
    image = np.zeros((1, 40, 24, 3), dtype=np.float32)
    image[0, 10:30, 5:20] = 1
    out = predict_case(OneHotIdentity(2), image, 2, [32, 32], -1, torch.device("cpu"))
    assert out.shape == (40, 24, 3) and out.dtype == np.uint8
    assert out[20, 12, 1] == 1 and out[2, 2, 1] == 0


def test_mirror_axes() -> None:
    from semiseg.inference import mirror_axes

    assert mirror_axes(2, 2, -1) == [(), (1,), (2,), (1, 2)]  # a 2D image
    assert mirror_axes(3, 2, -1) == [(), (1,), (2,), (1, 2)]  # slices of a volume: in-plane
    assert mirror_axes(3, 2, 0) == [(), (2,), (3,), (2, 3)]
    assert len(mirror_axes(3, 3, -1)) == 8 and mirror_axes(3, 3, -1)[-1] == (1, 2, 3)


class LeftBiased(nn.Module):
    """Foreground wherever the image is bright, plus a bias toward the left columns."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ramp = torch.linspace(1, -1, x.shape[-1], device=x.device)
        fg = x[:, :1] + 0.6 * ramp
        return torch.cat([torch.full_like(fg, 0.5), fg], dim=1)


def test_test_time_mirroring_averages_the_flips() -> None:
    image = np.full((1, 16, 24), 0.2, np.float32)
    args = (2, [16, 24], -1, torch.device("cpu"))
    plain = predict_case(LeftBiased(), image, *args)
    mirrored = predict_case(LeftBiased(), image, *args, tta=True)
    assert plain[:, :6].all() and not plain[:, -6:].any()  # the bias shows
    assert not mirrored.any()  # flipped and back, the ramp cancels: 0.2 < 0.5 everywhere
    labels = np.random.default_rng(0).integers(0, 3, (1, 7, 9, 5)).astype(np.float32)
    same = predict_case(OneHotIdentity(3), labels, 3, [4, 4, 4], -1, torch.device("cpu"),
                        tta=True)  # 8 mirrored sliding-window passes of a mirror-blind net
    np.testing.assert_array_equal(same, labels[0])
