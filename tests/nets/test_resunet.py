import pytest
import torch

from semiseg.nets import create_network, list_networks
from semiseg.nets.resunet import BasicBlock


def test_registered_with_resnet34_depths() -> None:
    assert "resunet" in list_networks()
    net = create_network("resunet", 2, 1, 4)
    assert [len(level) for level in net.encoder] == [1, 3, 4, 6, 3]
    assert all(isinstance(b, BasicBlock) for level in net.encoder for b in level)
    assert [len(level) for level in create_network("resunet", 2, 1, 4,
                                                    channels=[4, 8, 16]).encoder] == [1, 3, 4]


@pytest.mark.parametrize("dims, shape", [(2, (2, 1, 32, 48)), (3, (1, 2, 16, 16, 8))])
def test_same_interface_as_the_unet(dims: int, shape: tuple) -> None:
    net = create_network("resunet", dims, shape[1], 3, channels=[4, 8, 16, 32]).eval()
    x = torch.randn(shape)
    feats = net.encode(x)
    assert [f.shape[1] for f in feats] == [4, 8, 16, 32]
    assert torch.equal(net(x), net.decode(feats))
    assert net(x).shape == (shape[0], 3, *shape[2:])
    assert net.decode_features(feats).shape == (shape[0], 4, *shape[2:])


def test_basic_block_is_residual() -> None:
    block = BasicBlock(2, 4, 4).eval()
    for p in block.body.parameters():
        torch.nn.init.zeros_(p)  # body outputs 0: the block is relu(identity)
    x = torch.randn(1, 4, 6, 6)
    assert torch.equal(block(x), torch.relu(x))
    assert isinstance(BasicBlock(2, 4, 8).shortcut, torch.nn.Sequential)  # projection


def test_bad_depths_are_rejected() -> None:
    with pytest.raises(ValueError, match="depths"):
        create_network("resunet", 2, 1, 2, channels=[4, 8], depths=[1])
