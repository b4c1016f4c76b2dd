import pytest
import torch

from semiseg.ssl import box_mask, cutmix_masks, mix


def test_box_mask_has_two_thirds_sides() -> None:
    torch.manual_seed(0)
    for shape in [(12, 12), (9, 12, 6)]:
        mask = box_mask(shape, 2 / 3)
        assert mask.shape == (1, *shape)
        nz = mask[0].nonzero()
        sides = (nz.max(0).values - nz.min(0).values + 1).tolist()
        assert sides == [int(s * 2 / 3) for s in shape]
        assert mask.sum() == torch.tensor(sides).prod()  # one solid box


def test_cutmix_masks_probability_and_area() -> None:
    torch.manual_seed(0)
    masks = cutmix_masks(400, (32, 32), p=0.5)
    has_box = masks.flatten(1).any(1)
    assert 150 < int(has_box.sum()) < 250
    shares = masks.flatten(1).mean(1)[has_box]
    assert shares.min() >= 0.01 and shares.max() <= 0.41
    assert cutmix_masks(5, (8, 8), p=0.0).sum() == 0


def test_mix_images_and_labels_follow_the_mask() -> None:
    a, b = torch.zeros(2, 1, 4, 4), torch.ones(2, 1, 4, 4)
    ya, yb = torch.zeros(2, 4, 4, dtype=torch.long), torch.full((2, 4, 4), 3)
    mask = torch.zeros(1, 4, 4)
    mask[0, 1:3, 1:3] = 1
    x, y = mix(a, b, mask), mix(ya, yb, mask)
    assert torch.equal(x[:, 0], mask.expand(2, 4, 4))
    assert torch.equal(y, (mask * 3).long().expand(2, 4, 4))
    per_sample = torch.cat([mask, torch.zeros(1, 4, 4)])
    assert mix(a, b, per_sample)[1].sum() == 0 and y.dtype == torch.long
    with pytest.raises(ValueError):
        mix(a, b[:1], mask)
    with pytest.raises(ValueError, match="fits neither"):
        mix(a, b, mask[0, 0])
