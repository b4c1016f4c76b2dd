import pytest
import torch

from semiseg.ssl import block_masks, box_mask, cutmix_masks, mix


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


def test_block_masks_set_whole_blocks_half_of_them() -> None:
    torch.manual_seed(0)
    masks = block_masks(50, (16, 16), grid=4, ratio=0.5)
    assert masks.shape == (50, 16, 16)
    blocks = masks.reshape(50, 4, 4, 4, 4).permute(0, 1, 3, 2, 4).reshape(50, 16, 16)
    per_block = blocks.mean(-1)  # each 4x4 block is all 0 or all 1
    assert set(per_block.unique().tolist()) <= {0.0, 1.0}
    assert (per_block.sum(1) == 8).all()  # exactly half of the 16 blocks, every sample
    assert not torch.equal(masks[0], masks[1])  # drawn per sample
    # every block is chosen about equally often
    assert per_block.mean(0).min() > 0.3 and per_block.mean(0).max() < 0.7


def test_block_masks_uneven_sizes_and_3d() -> None:
    torch.manual_seed(0)
    masks = block_masks(3, (10, 7), grid=4, ratio=0.25)
    rows = [len(torch.unique_consecutive(masks[b].any(1).long())) for b in range(3)]
    assert all(r >= 1 for r in rows)
    # borders split 10 as 3/2/3/2 and 7 as 2/2/2/1: block sizes add up to the image
    ids = torch.arange(10) * 4 // 10
    assert torch.bincount(ids).tolist() == [3, 2, 3, 2]
    assert (masks.flatten(1).sum(1) > 0).all()
    volume = block_masks(2, (8, 8, 8), grid=2, ratio=0.5)
    assert (volume.flatten(1).sum(1) == 4 * 64).all()  # 4 of 8 blocks of 4^3
    with pytest.raises(ValueError, match="grid"):
        block_masks(1, (3, 8), grid=4)
