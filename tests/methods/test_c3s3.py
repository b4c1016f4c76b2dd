import pytest
import torch

from semiseg.errors import ConfigError
from semiseg.methods.c3s3 import competition_losses
from semiseg.nets import ResUNet, UNet
from tests.methods.contract import MethodContract, tiny_batch


class TestComplementaryCompetition(MethodContract):
    method_name = "c3s3"

    def test_students_differ_in_architecture(self) -> None:
        method = self.make(2)
        assert type(method.nets[0]) is UNet and type(method.nets[1]) is ResUNet
        assert method.nets[1].channels == method.nets[0].channels

    def test_unknown_second_network_names_the_key(self) -> None:
        from semiseg.methods import NetSpec, create_method
        spec = NetSpec("unet", 2, 1, 3)
        with pytest.raises(ConfigError, match=r"method\.params\.second_network"):
            create_method("c3s3", {"second_network": "nope"}, spec)

    def test_predicts_with_both_students_or_the_first(self) -> None:
        from semiseg.methods import NetSpec, create_method
        method = self.make(2).eval()
        x = torch.randn(2, 1, 16, 16)
        with torch.no_grad():
            mean = (method.nets[0](x).softmax(1) + method.nets[1](x).softmax(1)) / 2
            assert torch.allclose(method.predictor()(x).softmax(1), mean, atol=1e-6)
        assert set(method.state_dict()) == set(self.make(2).state_dict())  # nothing added
        spec = NetSpec("unet", 2, 1, 3)
        first = create_method("c3s3", {"predict_with": "first"}, spec)
        assert first.predictor() is first.nets[0]
        with pytest.raises(ConfigError, match=r"method\.params\.predict_with: 'mean'"):
            create_method("c3s3", {"predict_with": "mean"}, spec)

    def test_loss_is_the_sum_of_its_parts(self) -> None:
        out = self.step(self.make(2), tiny_batch(2))
        logs = out.logs
        expected = (sum(logs[f"loss_sup{k}"] + logs[f"loss_views{k}"] for k in (1, 2))
                    + logs["w_competition"] * logs["loss_competition"] + 2 * logs["loss_contrast"])
        assert torch.allclose(out.loss.detach(), expected, atol=1e-4)
        assert float(logs["winner"]) in (0.0, 1.0)


def test_teacher_flips_when_the_losses_flip() -> None:
    torch.manual_seed(0)
    logits = [torch.randn(2, 3, 8, 8, requires_grad=True) for _ in range(2)]
    losses, winner = competition_losses(logits, [torch.tensor(0.1), torch.tensor(0.5)], 0.1)
    assert winner == 0 and losses[0] == 0 and losses[1] > 0
    (losses[0] + losses[1]).backward()
    assert logits[0].grad.abs().sum() == 0 and logits[1].grad.abs().sum() > 0  # the winner is fixed
    losses, winner = competition_losses(logits, [torch.tensor(0.5), torch.tensor(0.1)], 0.1)
    assert winner == 1 and losses[1] == 0 and losses[0] > 0
    # the target is the winner's sharpened probability: p^(1/T) renormalised
    p = logits[1].detach().softmax(1)
    sharp = p ** 10 / (p ** 10).sum(1, keepdim=True)
    expected = torch.mean((logits[0].detach().softmax(1) - sharp) ** 2)
    assert torch.allclose(losses[0].detach(), expected, atol=1e-6)
