import torch

from semiseg.ssl import feature_dropout, gaussian_blur, ramped_weight, strong_intensity


def test_blur_keeps_constant_images_and_smooths_impulses() -> None:
    const = torch.full((2, 1, 9, 9), 0.3)
    assert torch.allclose(gaussian_blur(const, torch.tensor([0.5, 2.0]), 3), const)
    impulse = torch.zeros(2, 1, 9, 9, 9)
    impulse[:, :, 4, 4, 4] = 1.0
    out = gaussian_blur(impulse, torch.tensor([0.5, 1.5]), 3)
    assert torch.allclose(out.sum((1, 2, 3, 4)), torch.ones(2), atol=1e-5)
    assert out[0].max() > out[1].max()  # wider sigma spreads more


def test_strong_intensity_is_random_per_sample_and_keeps_shape() -> None:
    torch.manual_seed(0)
    x = torch.rand(8, 1, 16, 16)
    y = strong_intensity(x)
    assert y.shape == x.shape and y.dtype == x.dtype
    changed = (y - x).flatten(1).abs().amax(1) > 1e-6
    assert 0 < int(changed.sum()) <= 8
    same = strong_intensity(x, jitter_p=0.0, blur_p=0.0)
    assert torch.equal(same, x)


def test_feature_dropout_drops_whole_channels() -> None:
    torch.manual_seed(0)
    feats = [torch.ones(4, 16, 8, 8), torch.ones(4, 32, 2, 2, 2)]
    out = feature_dropout(feats, 0.5)
    for f in out:
        per_channel = f.flatten(2)
        assert ((per_channel == 0).all(2) | (per_channel == 2).all(2)).all()


def test_ramped_weight() -> None:
    assert ramped_weight(0.01, 0.1, 1.0, warmup=0.02) == 0.0
    assert ramped_weight(1.0, 0.1, 1.0) == 0.1
    assert 0 < ramped_weight(0.5, 0.1, 1.0) < 0.1
