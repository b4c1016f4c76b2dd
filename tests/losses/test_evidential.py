import math

import pytest
import torch

from semiseg.losses.evidential import (
    dirichlet,
    evidential_cross_entropy,
    fisher_weighted_mse,
    fuse_opinions,
    kl_to_uniform,
    uncertainty,
)


def test_opinion_of_zero_evidence_is_uniform_and_fully_uncertain() -> None:
    alpha = dirichlet(torch.full((1, 4, 2, 2), -50.0))  # clamped at exp(-10)
    assert torch.allclose(alpha, torch.ones_like(alpha), atol=1e-4)
    assert torch.allclose(uncertainty(alpha), torch.ones(1, 2, 2), atol=1e-4)
    confident = dirichlet(torch.tensor([5.0, -50, -50, -50]).view(1, 4, 1, 1))
    strength = math.exp(5) + 1 + 3 * (math.exp(-10) + 1)
    assert uncertainty(confident).item() == pytest.approx(4 / strength, rel=1e-4)
    assert torch.isfinite(dirichlet(torch.tensor([1e4, 0.0]).view(1, 2, 1))).all()


def test_fusing_two_identical_opinions_gives_that_opinion() -> None:
    torch.manual_seed(0)
    alpha = dirichlet(torch.randn(2, 3, 5, 5) * 3)
    for w in (torch.tensor([0.5, 0.5, 0.5]), torch.tensor([0.9, 0.1, 0.3])):
        assert torch.allclose(fuse_opinions(alpha, alpha, w), alpha, atol=1e-6)


def test_fusion_is_class_aware_averaging() -> None:
    a = torch.tensor([5.0, 1.0]).view(1, 2, 1)  # evidence 4, 0
    b = torch.tensor([1.0, 9.0]).view(1, 2, 1)  # evidence 0, 8
    fused = fuse_opinions(a, b, torch.tensor([0.5, 0.5]))
    assert fused.flatten().tolist() == [3.0, 5.0]  # mean evidence: 2 and 4, plus 1
    trust_a_on_0 = fuse_opinions(a, b, torch.tensor([1.0, 0.0]))
    assert trust_a_on_0.flatten().tolist() == [5.0, 9.0]  # class 0 from a, class 1 from b


def test_fisher_weighted_mse_by_hand() -> None:
    alpha = torch.ones(1, 2, 1, 1)  # p = 1/2, S = 2
    target = torch.zeros(1, 1, 1, dtype=torch.long)
    per_class = [(1 - 0.5) ** 2 + 0.25 / 3, 0.5**2 + 0.25 / 3]
    expected = math.pi**2 / 6 * sum(per_class)  # trigamma(1) = pi^2 / 6
    assert fisher_weighted_mse(alpha, target).item() == pytest.approx(expected, rel=1e-5)
    # voxel weights: a zero-weight voxel does not count
    alpha2 = torch.cat([alpha, torch.tensor([50.0, 1.0]).view(1, 2, 1, 1)], dim=3)
    target2 = torch.zeros(1, 1, 2, dtype=torch.long)
    w = torch.tensor([[[0.0, 1.0]]])
    assert fisher_weighted_mse(alpha2, target2, w) < 0.01
    # more evidence on the right class lowers the loss
    assert fisher_weighted_mse(torch.tensor([9.0, 1.0]).view(1, 2, 1, 1), target) < expected


def test_kl_term_only_sees_misleading_evidence() -> None:
    target = torch.zeros(1, 1, 1, dtype=torch.long)
    right = torch.tensor([20.0, 1.0, 1.0]).view(1, 3, 1, 1)  # all evidence on class 0
    assert kl_to_uniform(right, target).item() == pytest.approx(0.0, abs=1e-5)
    wrong = torch.tensor([1.0, 20.0, 1.0]).view(1, 3, 1, 1)
    assert kl_to_uniform(wrong, target) > 1.0


def test_evidential_cross_entropy_by_hand() -> None:
    alpha = torch.tensor([3.0, 1.0]).view(1, 2, 1, 1)
    target = torch.zeros(1, 1, 1, dtype=torch.long)
    expected = torch.digamma(torch.tensor(4.0)) - torch.digamma(torch.tensor(3.0))  # = 1/3
    assert evidential_cross_entropy(alpha, target).item() == pytest.approx(expected.item())
    assert expected.item() == pytest.approx(1 / 3, rel=1e-5)
    wrong = torch.ones(1, 1, 1, dtype=torch.long)
    assert evidential_cross_entropy(alpha, wrong) > evidential_cross_entropy(alpha, target)
