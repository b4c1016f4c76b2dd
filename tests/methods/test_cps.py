import pytest
import torch
import torch.nn.functional as F

from semiseg.errors import ConfigError
from semiseg.losses import supervised_loss
from tests.methods.contract import MethodContract, tiny_batch


class TestCrossPseudoSupervision(MethodContract):
    method_name = "cps"

    def test_networks_start_different(self) -> None:
        method = self.make(2)
        a, b = (next(net.parameters()) for net in method.nets)
        assert not torch.equal(a, b)

    def test_each_network_learns_the_others_argmax(self) -> None:
        method = self.make(2)
        batch = tiny_batch(2)
        torch.manual_seed(3)
        out = self.step(method, batch)
        x = torch.cat([batch.x_l, batch.x_u])
        torch.manual_seed(3)
        logits = [net(x) for net in method.nets]
        n_l = batch.x_l.shape[0]
        expected = (F.cross_entropy(logits[0][n_l:], logits[1][n_l:].argmax(1))
                    + F.cross_entropy(logits[1][n_l:], logits[0][n_l:].argmax(1)))
        assert torch.allclose(out.logs["loss_cps"], expected.detach(), atol=1e-5)
        sup = sum(supervised_loss(lg[:n_l], batch.y_l) for lg in logits)
        assert torch.allclose(out.loss, sup + out.logs["w_cps"] * expected, atol=1e-5)

    def test_ssl4mis_init_schemes_by_default(self) -> None:
        method = self.make(2)
        for net, gain in zip(method.nets, ("kaiming", "xavier"), strict=True):
            conv = max((m for m in net.modules() if isinstance(m, torch.nn.Conv2d)),
                       key=lambda m: m.weight.numel())
            fan_in = conv.weight[0].numel()
            fan_out = conv.weight.shape[0] * conv.weight[0, 0].numel()
            expected = ((2 / fan_in) ** 0.5 if gain == "kaiming"
                        else (2 / (fan_in + fan_out)) ** 0.5)
            assert abs(conv.weight.std().item() / expected - 1) < 0.1, gain

    def test_unknown_init_scheme_names_the_key(self) -> None:
        type(self).params = {"init_second": "bogus"}
        try:
            with pytest.raises(ConfigError, match=r"method\.params\.init_second: .*valid: default"):
                self.make(2)
        finally:
            type(self).params = {}
