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
