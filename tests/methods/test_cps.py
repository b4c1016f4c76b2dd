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

    def test_init_schemes(self) -> None:
        type(self).params = {"init_second": "xavier_normal"}
        try:
            method = self.make(2)
            assert method.nets[1].encoder[0][0].bias.abs().sum() == 0
        finally:
            type(self).params = {}

    def test_unknown_init_scheme_names_the_key(self) -> None:
        type(self).params = {"init_second": "bogus"}
        try:
            with pytest.raises(ConfigError, match=r"method\.params\.init_second: .*valid: default"):
                self.make(2)
        finally:
            type(self).params = {}
