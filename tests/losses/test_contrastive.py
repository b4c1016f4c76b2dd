import pytest
import torch
import torch.nn.functional as F

from semiseg.losses import outcome_contrastive_loss, voxel_cosine


def test_outcome_contrastive_loss_by_hand() -> None:
    """Two voxels: agreement on foreground at 0, on background at 1."""
    proj_a = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).T.reshape(1, 2, 2, 1)  # voxel-wise vectors
    proj_b = torch.tensor([[1.0, 0.0], [1.0, 0.0]]).T.reshape(1, 2, 2, 1)
    fg_bg = torch.tensor([[5.0, -5.0], [-5.0, 5.0]]).reshape(1, 2, 2, 1)  # voxel 0 fg, 1 bg
    logits = torch.stack([fg_bg[:, 1], fg_bg[:, 0]], 1)
    loss = outcome_contrastive_loss(proj_a, proj_b, logits, logits, temperature=1.0)
    s = torch.tensor([1.0, 0.0])  # cosine at voxel 0 and 1
    both, outside = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])

    def nce(pos: torch.Tensor) -> torch.Tensor:
        neg = torch.exp((1 - pos) * s).sum()
        return -torch.log(torch.exp(pos * s) / (neg + torch.exp(pos * s))).mean()

    assert torch.allclose(loss, nce(both) + nce(outside), atol=1e-6)


def test_outcome_contrastive_loss_is_finite_on_large_batches() -> None:
    torch.manual_seed(0)
    proj = torch.randn(4, 16, 64, 64)
    logits = torch.randn(4, 4, 64, 64)
    loss = outcome_contrastive_loss(proj, proj, logits, logits, temperature=0.1)
    assert torch.isfinite(loss)  # sum_j e^{s_j / 0.1} over 16k voxels needs log-sum-exp


def test_outcome_contrastive_loss_is_lowest_with_orthogonal_projections() -> None:
    """Masked entries count e^0, so uniform similarities per region are best at s = 0.

    At s = 0 every voxel's term is ``log(N + 1)`` (N negatives' e^0 plus its own e^0).
    """
    n_side, fg = 32, 8  # 32 x 32 voxels, an 8 x 8 agreed foreground square
    logits = torch.zeros(1, 2, n_side, n_side)
    logits[0, 1, :fg, :fg] = 5.0
    inside = torch.zeros(n_side, n_side, dtype=torch.bool)
    inside[:fg, :fg] = True

    def loss_at(s_fg: float, s_bg: float) -> float:
        s = torch.where(inside, s_fg, s_bg)  # cosine of [1, 0] with [s, sqrt(1 - s^2)]
        proj_a = torch.stack([torch.ones_like(s), torch.zeros_like(s)])[None]
        proj_b = torch.stack([s, (1 - s**2).sqrt()])[None]
        return float(outcome_contrastive_loss(proj_a, proj_b, logits, logits, 0.1))

    n = n_side * n_side
    assert loss_at(0.0, 0.0) == pytest.approx(2 * torch.log(torch.tensor(n + 1.0)).item())
    grid = [-1.0, -0.5, 0.5, 1.0]
    assert all(loss_at(a, b) > loss_at(0.0, 0.0) for a in grid for b in grid)


def test_identical_positives_give_a_lower_loss_than_shuffled_features() -> None:
    from semiseg.losses import supervised_info_nce
    torch.manual_seed(0)
    labels = torch.arange(4).repeat_interleave(4)  # 4 classes x 4 samples
    prototypes = torch.nn.functional.normalize(torch.randn(4, 32), dim=1)
    aligned = prototypes[labels]  # positives identical
    shuffled = aligned[torch.randperm(16)]
    loss_aligned, _ = supervised_info_nce(aligned, labels)
    loss_shuffled, _ = supervised_info_nce(shuffled, labels)
    assert loss_aligned < loss_shuffled
    # anchors without positives do not count
    single = torch.tensor([0, 1, 1])
    loss, share = supervised_info_nce(torch.randn(3, 8), single)
    assert torch.isfinite(loss) and share == 1


def test_self_paced_weights_hard_and_soft() -> None:
    from semiseg.losses import self_paced_weights
    difficulty = torch.tensor([0.0, 1.0, 2.0, 3.0, 5.0])
    assert self_paced_weights(difficulty, 2.5, "hard").tolist() == [1, 1, 1, 0, 0]
    assert self_paced_weights(difficulty, 4.0, "soft").tolist() == [1.0, 0.75, 0.5, 0.25, 0.0]


def test_self_paced_gamma_admits_more_pairs_later() -> None:
    from semiseg.losses import supervised_info_nce
    torch.manual_seed(0)
    labels = torch.arange(4).repeat_interleave(3)
    features = torch.randn(12, 16)
    _, early = supervised_info_nce(features, labels, gamma=1.5, mode="hard")
    _, late = supervised_info_nce(features, labels, gamma=50.0, mode="hard")
    assert early < late == 1


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_voxel_cosine_is_torch_cosine_similarity(memory_format: torch.memory_format) -> None:
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(3, 5, 6, 7, generator=gen).to(memory_format=memory_format)
    b = torch.randn(3, 5, 6, 7, generator=gen).to(memory_format=memory_format)
    a[0, :, 0, 0] = 0  # a zero vector: the norm's lower bound keeps it finite (0)
    a.requires_grad_(True)
    ours = voxel_cosine(a, b)
    theirs = F.cosine_similarity(a, b, dim=1)
    assert ours.shape == (3, 6, 7)
    assert torch.allclose(ours, theirs, atol=1e-6) and ours[0, 0, 0] == 0
    (grad_ours,) = torch.autograd.grad(ours.sum(), a)
    (grad_theirs,) = torch.autograd.grad(theirs.sum(), a)
    assert torch.allclose(grad_ours, grad_theirs, atol=1e-5)
