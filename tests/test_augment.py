import torch

from semiseg.augment import weak_augment
from semiseg.config import AugmentConfig


def _blobs(n: int = 16, h: int = 32, w: int = 32) -> torch.Tensor:
    y = torch.zeros(n, h, w, dtype=torch.long)
    for i in range(n):
        y[i, 3 + i % 5: 20, 4: 22 + i % 7] = 1 + i % 3
    return y


def test_labels_move_with_images() -> None:
    y = _blobs()
    for cfg in (AugmentConfig(), AugmentConfig(rot_flip_p=0, rotate_p=1),
                AugmentConfig(rot_flip_p=0, rotate_p=0, scale_p=1)):
        xa, ya = weak_augment(y[:, None].float(), y, cfg, torch.Generator().manual_seed(0))
        agree = (xa[:, 0].round().long() == ya).float().mean()
        assert agree > 0.95, cfg  # only bilinear-vs-nearest edge voxels differ


def test_rot90_and_flip_are_exact() -> None:
    y = torch.randint(0, 4, (12, 16, 16))
    _, ya = weak_augment(y[:, None].float(), y, AugmentConfig(rot_flip_p=1.0),
                         torch.Generator().manual_seed(1))
    for a, b in zip(y, ya, strict=True):
        candidates = [torch.rot90(a, k, (0, 1)).flip(ax) for k in range(4) for ax in (0, 1)]
        assert any(torch.equal(b, c) for c in candidates)


def test_seeded_and_3d() -> None:
    x = torch.randn(4, 1, 16, 16, 8)
    a, _ = weak_augment(x, None, AugmentConfig(), torch.Generator().manual_seed(3))
    b, _ = weak_augment(x, None, AugmentConfig(), torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.shape == x.shape


def test_no_augmentation_is_identity() -> None:
    x = torch.randn(3, 2, 16, 24)
    y = torch.randint(0, 3, (3, 16, 24))
    cfg = AugmentConfig(rot_flip_p=0, rotate_p=0)
    xa, ya = weak_augment(x, y, cfg, torch.Generator().manual_seed(0))
    assert torch.allclose(xa, x, atol=1e-5) and torch.equal(ya, y)
