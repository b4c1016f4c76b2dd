import pytest
import torch

from semiseg.qc import CORRUPTIONS, QualityNet, corrupt, soft_dice_per_sample


def blobs(batch: int = 8, size: int = 32, dims: int = 2) -> torch.Tensor:
    y = torch.zeros((batch, *(size,) * dims), dtype=torch.long)
    y[(slice(None), *[slice(6, 26)] * dims)] = 1
    y[(slice(None), *[slice(10, 22)] * dims)] = 2
    y[(slice(None), *[slice(13, 19)] * dims)] = 3
    return y


def test_dice_per_sample_by_hand() -> None:
    truth = blobs(2)
    assert torch.allclose(soft_dice_per_sample(truth, truth, 4), torch.ones(2))
    pred = truth.clone()
    pred[1][pred[1] == 3] = 0  # class 3 missed entirely: its Dice is 0
    assert torch.allclose(soft_dice_per_sample(pred, truth, 4), torch.tensor([1.0, 2 / 3]))


@pytest.mark.parametrize("dims", [2, 3])
def test_every_corruption_lowers_dice_or_keeps_it_clean(dims: int) -> None:
    torch.manual_seed(0)
    truth = blobs(64, 24 if dims == 3 else 32, dims)
    corrupted, kinds = corrupt(truth, 4, torch.Generator().manual_seed(1))
    dice = soft_dice_per_sample(corrupted, truth, 4)
    assert set(kinds) == set(CORRUPTIONS)
    for d, kind in zip(dice.tolist(), kinds, strict=True):
        if kind == "clean":
            assert d == 1.0
        else:
            assert d < 1.0, kind
    assert set(torch.unique(corrupted).tolist()) <= {0, 1, 2, 3}


def test_stronger_corruption_lowers_dice_monotonically() -> None:
    from semiseg.qc import _morph
    truth = blobs(1)
    mask = truth == 1
    dices = []
    for radius in (1, 2, 3, 4):
        y = truth.clone()
        grown = _morph(mask, radius, dilate=False)
        y[mask & ~grown] = 0
        dices.append(float(soft_dice_per_sample(y, truth, 4)))
    assert dices == sorted(dices, reverse=True) and dices[0] < 1.0


@pytest.mark.parametrize("dims", [2, 3])
def test_quality_net_shapes(dims: int) -> None:
    net = QualityNet(dims, 1, 4, channels=(4, 8))
    out = net(torch.randn(3, 1, *(16,) * dims), blobs(3, 16, dims))
    assert out.shape == (3,) and ((out > 0) & (out < 1)).all()


def test_quality_net_learns_to_rank_a_clean_mask_above_its_corruptions() -> None:
    """A few hundred steps on corrupted blobs: clean masks score above corrupted ones."""
    torch.manual_seed(0)
    net = QualityNet(2, 1, 4, channels=(8, 16, 32))
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(150):
        truth = blobs(16)
        shift = torch.randint(-4, 5, (2,), generator=gen).tolist()
        truth = torch.roll(truth, shift, dims=(1, 2))
        image = truth.float().unsqueeze(1) + 0.3 * torch.randn(16, 1, 32, 32, generator=gen)
        labels, _ = corrupt(truth, 4, gen)
        target = soft_dice_per_sample(labels, truth, 4)
        loss = torch.mean((net(image, labels) - target) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    truth = blobs(32)
    image = truth.float().unsqueeze(1) + 0.3 * torch.randn(32, 1, 32, 32, generator=gen)
    labels, _ = corrupt(truth, 4, torch.Generator().manual_seed(7))
    with torch.no_grad():
        clean = net(image, truth)
        noisy = net(image, labels)
    true = soft_dice_per_sample(labels, truth, 4)
    assert (clean > noisy)[true < 0.9].float().mean() > 0.9
