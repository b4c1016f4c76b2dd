import torch
from torch import nn

from semiseg.nets import SoftmaxAverage


def test_softmax_of_the_output_is_the_members_mean_probability() -> None:
    """Two 1x1 "networks" with hand-set logits: probabilities (0.5, 0.5) and (0.9, 0.1)."""
    flat = nn.Conv2d(1, 2, 1, bias=True)
    sure = nn.Conv2d(1, 2, 1, bias=True)
    with torch.no_grad():
        for conv in (flat, sure):
            conv.weight.zero_()
        flat.bias.zero_()
        sure.bias.copy_(torch.tensor([torch.log(torch.tensor(9.0)), 0.0]))
    out = SoftmaxAverage(nn.ModuleList([flat, sure]))(torch.zeros(1, 1, 2, 2))
    assert out.shape == (1, 2, 2, 2) and out.dtype == torch.float32
    assert torch.allclose(out.softmax(1)[0, :, 0, 0], torch.tensor([0.7, 0.3]), atol=1e-6)


def test_members_are_shared_not_copied() -> None:
    members = nn.ModuleList([nn.Conv2d(1, 2, 1), nn.Conv2d(1, 2, 1)])
    ensemble = SoftmaxAverage(members)
    assert ensemble.members is members
    ensemble.eval()
    assert not members[0].training and not members[1].training
