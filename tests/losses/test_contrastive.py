import torch

from semiseg.losses import outcome_contrastive_loss


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
