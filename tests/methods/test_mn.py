import torch

from semiseg.methods.base import Progress
from semiseg.methods.mn import SliceWise2D, dice_kl_loss, pseudo_share
from semiseg.nets import EfficientUNet, UNet
from tests.methods.contract import MethodContract, tiny_batch


class TestModelsAndNetworks(MethodContract):
    method_name = "mn"

    def test_models_and_learning_rates(self) -> None:
        method = self.make(3)
        assert type(method.net3d) is UNet and isinstance(method.net2d.net, EfficientUNet)
        assert method.lr_scales() == {"net2d": 10.0}
        assert method.phase_steps(method.config, 4000) == {"warmup": 500, "cotrain": 3500}

    def test_the_models_take_turns(self) -> None:
        method = self.make(3)
        turns = [method.learner(Progress(0, 100, "cotrain", s, 80)) for s in (0, 7, 8, 16)]
        assert turns == ["2d", "2d", "3d", "2d"]
        method.train()
        batch = tiny_batch(3)
        out = method.training_step(batch, Progress(60, 100, "cotrain", 8, 80))
        out.loss.backward()
        assert all(p.grad is None for p in method.net2d.parameters())  # 3D's turn
        assert any(p.grad is not None for p in method.net3d.parameters())
        assert method.net2d.training  # the pseudo-labeler is back in training mode


def test_any_pretrained_2d_network_from_disk(tmp_path) -> None:
    # a 2D UNet trained elsewhere, saved inside a semiseg-style checkpoint under a prefix
    import pytest

    from semiseg.errors import SemisegError
    from semiseg.methods import create_method
    from semiseg.methods.base import NetSpec

    torch.manual_seed(5)
    donor = UNet(2, 1, 7, [4, 8, 16], [0.0, 0.1, 0.2])  # other classes: head not taken
    path = tmp_path / "best.pt"
    torch.save({"method": {f"student.{k}": v for k, v in donor.state_dict().items()},
                "config": {}}, path)
    spec = NetSpec("unet", 3, 1, 2, {"channels": [4, 8, 16], "dropout": [0.0, 0.1, 0.2]})
    method = create_method("mn", {"network_2d": "unet", "weights_2d": str(path)}, spec)
    net2d = method.net2d.net
    assert type(net2d) is UNet
    for key, value in donor.state_dict().items():
        if not key.startswith("head."):
            assert torch.equal(net2d.state_dict()[key], value), key
    assert net2d.head.out_channels == 2
    # a plain state dict works too; a foreign one is a one-line error naming the file
    torch.save(donor.state_dict(), tmp_path / "plain.pt")
    create_method("mn", {"network_2d": "unet", "weights_2d": str(tmp_path / "plain.pt")}, spec)
    torch.save({"w": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(SemisegError, match=r"other\.pt: holds no UNet"):
        create_method("mn", {"network_2d": "unet", "weights_2d": str(tmp_path / "other.pt")},
                      spec)
    with pytest.raises(SemisegError, match=r"missing\.pt: weights file does not exist"):
        create_method("mn", {"network_2d": "unet", "weights_2d": str(tmp_path / "missing.pt")},
                      spec)


def test_pseudo_share_follows_the_schedule() -> None:
    """floor(f B) / B: 0 at the start of co-training, all pseudo-labeled at the end."""
    shares = [pseudo_share(f, 5) for f in (0.0, 0.19, 0.2, 0.5, 0.99, 1.0)]
    assert shares == [0.0, 0.0, 0.2, 0.4, 0.8, 1.0]
    assert shares == sorted(shares)


def test_slice_wise_2d_applies_the_network_per_slice() -> None:
    net = torch.nn.Conv2d(1, 2, 1)  # any 2D network
    wrapped = SliceWise2D(net, multiple=8)
    x = torch.randn(2, 1, 10, 12, 5)
    out = wrapped(x)
    assert out.shape == (2, 2, 10, 12, 5)
    assert torch.allclose(out[:, :, :, :, 3], net(x[:, :, :, :, 3]), atol=1e-6)


def test_dice_kl_is_zero_only_for_the_target() -> None:
    target = torch.nn.functional.one_hot(torch.randint(0, 3, (2, 6, 6)), 3).movedim(-1, 1)
    perfect = dice_kl_loss(target.float() * 40, target.float())
    assert perfect < 1e-4
    assert dice_kl_loss(torch.zeros(2, 3, 6, 6), target.float()) > 0.1
