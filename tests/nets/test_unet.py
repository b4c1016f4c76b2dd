import pytest
import torch

from semiseg.nets import create_network
from semiseg.nets.layers import Dropout


def test_ssl4mis_configuration_has_1_81m_parameters() -> None:
    net = create_network("unet", 2, 1, 4)
    assert sum(p.numel() for p in net.parameters()) == 1_813_764


@pytest.mark.parametrize("dims, shape", [(2, (2, 1, 32, 48)), (3, (1, 2, 16, 16, 8))])
def test_shapes_and_feature_access(dims: int, shape: tuple) -> None:
    net = create_network("unet", dims, shape[1], 3, channels=[4, 8, 16, 32],
                         dropout=[0, 0, 0, 0]).eval()
    x = torch.randn(shape)
    feats = net.encode(x)
    assert [f.shape[1] for f in feats] == [4, 8, 16, 32]
    assert feats[-1].shape[2:] == tuple(s // 8 for s in shape[2:])
    assert torch.equal(net(x), net.decode(feats))
    assert net(x).shape == (shape[0], 3, *shape[2:])


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="spatial_dims"):
        create_network("unet", 4, 1, 2)
    with pytest.raises(ValueError, match="same length"):
        create_network("unet", 2, 1, 2, channels=[4, 8], dropout=[0.1])


@pytest.mark.parametrize("name, kwargs, fits, too_small", [
    ("unet", {"channels": [4, 8, 16], "dropout": [0, 0, 0]}, [(4, 4), (33, 35)], (3, 8)),
    ("vnet", {"channels": [2, 4, 4, 4, 4]}, [(16, 32)], (16, 24)),
    ("efficientunet", {"pretrained": False}, [(32, 64)], (32, 48)),
])
def test_input_size_rule_is_the_networks_real_limit(name: str, kwargs: dict, fits: list,
                                                    too_small: tuple) -> None:
    """What ``input_size_problem`` accepts passes the network; what it rejects fails."""
    from semiseg.nets import NETWORKS

    net = create_network(name, 2, 1, 2, **kwargs).eval()
    rule = NETWORKS.get(name).input_size_problem
    shape_kwargs = {k: v for k, v in kwargs.items() if k == "channels"}
    with torch.no_grad():
        for size in fits:
            assert rule(size, **shape_kwargs) is None
            assert net(torch.zeros(1, 1, *size)).shape[2:] == size
        assert rule(too_small, **shape_kwargs)
        with pytest.raises(RuntimeError):
            net(torch.zeros(1, 1, *too_small))


def test_fast_dropout_statistics_and_determinism() -> None:
    drop = Dropout(0.3).train()
    x = torch.ones(400, 500)
    torch.manual_seed(0)
    a = drop(x)
    torch.manual_seed(0)
    assert torch.equal(a, drop(x))
    assert (a == 0).float().mean().item() == pytest.approx(0.3, abs=0.005)
    assert a.mean().item() == pytest.approx(1.0, abs=0.01)
    assert torch.equal(drop.eval()(x), x)


def test_fast_dropout_passes_gradients() -> None:
    x = torch.ones(50, 50, requires_grad=True)
    y = Dropout(0.5).train()(x)
    y.sum().backward()
    assert torch.equal(x.grad, (y > 0).float() * 2)
