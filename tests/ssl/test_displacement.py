import pytest
import torch

from semiseg.ssl import (
    abd_r_indices,
    displace_labels,
    from_patches,
    patch_class_distribution,
    patch_confidence,
    swap_patches,
    to_patches,
)


@pytest.mark.parametrize("shape", [(2, 3, 8, 12), (2, 1, 4, 8, 12)])
def test_patches_round_trip_and_order(shape: tuple[int, ...]) -> None:
    x = torch.randn(shape)
    p = to_patches(x, 4)
    assert p.shape[1] == 4 ** (len(shape) - 2)
    assert torch.equal(from_patches(p, 4), x)
    # patch 1 is the second patch along the last axis (row-major)
    if len(shape) == 4:
        assert torch.equal(p[:, 1], x[:, :, 0:2, 3:6])


def test_patches_reject_indivisible_sizes() -> None:
    with pytest.raises(ValueError, match="divisible"):
        to_patches(torch.zeros(1, 1, 10, 8), 4)


def test_patch_confidence_and_distribution() -> None:
    prob = torch.full((1, 2, 4, 4), 0.5)
    prob[0, 0, :2, :2], prob[0, 1, :2, :2] = 0.9, 0.1  # top-left patch confident
    conf = patch_confidence(prob, 2)
    assert torch.allclose(conf, torch.tensor([[0.9, 0.5, 0.5, 0.5]]))
    dist = patch_class_distribution(torch.log(prob), 2)
    assert dist.shape == (1, 4, 2) and torch.allclose(dist.sum(-1), torch.ones(1, 4))


def test_abd_r_replaces_exactly_the_least_confident_patch() -> None:
    grid, b = 2, 1
    x_a = torch.arange(16.0).view(b, 1, 4, 4)
    x_b = -torch.arange(16.0).view(b, 1, 4, 4) - 1
    conf_a = torch.tensor([[0.9, 0.2, 0.8, 0.7]])  # patch 1 weakest in view a
    conf_b = torch.tensor([[0.6, 0.95, 0.1, 0.9]])  # patch 2 weakest in view b
    dist_a = torch.tensor([[[0.5, 0.5], [0.9, 0.1], [0.2, 0.8], [0.5, 0.5]]])
    dist_b = torch.tensor([[[0.9, 0.1], [0.5, 0.5], [0.3, 0.7], [0.88, 0.12]]])
    weak_a, src_b, weak_b, src_a = abd_r_indices(conf_a, conf_b, dist_a, dist_b, top_k=2)
    assert weak_a.item() == 1 and weak_b.item() == 2
    # view b's top-2 are patches 1 and 3; closest to a's weak patch (0.9, 0.1) is patch 3
    assert src_b.item() == 3
    # view a's top-2 are patches 0 and 2; closest to b's weak patch (0.3, 0.7) is patch 2
    assert src_a.item() == 2
    new_a, new_b = swap_patches(x_a, x_b, grid, weak_a, src_b, weak_b, src_a)
    pa, pb = to_patches(x_a, grid), to_patches(x_b, grid)
    qa, qb = to_patches(new_a, grid), to_patches(new_b, grid)
    assert torch.equal(qa[0, 1], pb[0, 3]) and torch.equal(qb[0, 2], pa[0, 2])
    for k in (0, 2, 3):  # every other patch untouched
        assert torch.equal(qa[0, k], pa[0, k])
    for k in (0, 1, 3):
        assert torch.equal(qb[0, k], pb[0, k])


def test_swap_reads_originals_and_respects_apply() -> None:
    x_a, x_b = torch.zeros(2, 1, 4, 4), torch.ones(2, 1, 4, 4)
    idx = [torch.tensor([0, 0])] * 4
    new_a, new_b = swap_patches(x_a, x_b, 2, *idx, apply=torch.tensor([True, False]))
    assert new_a[0].sum() == 4 and new_b[0].sum() == 12  # swapped, not copied twice
    assert torch.equal(new_a[1], x_a[1]) and torch.equal(new_b[1], x_b[1])
    y = torch.arange(32).view(2, 4, 4)
    ya, yb = displace_labels(y, y.flip(0), 2, *idx, apply=torch.tensor([True, True]))
    assert ya.dtype == torch.long and torch.equal(ya[0, :2, :2], y[1, :2, :2])
    assert torch.equal(yb[0, :2, :2], y[0, :2, :2])
