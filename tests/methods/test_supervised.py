import torch

from tests.methods.contract import MethodContract, tiny_batch


class TestSupervised(MethodContract):
    method_name = "supervised"

    def test_ignores_unlabeled_images(self) -> None:
        method = self.make(2)
        batch = tiny_batch(2)
        torch.manual_seed(0)
        a = self.step(method, batch).loss
        batch.x_u = torch.randn_like(batch.x_u) * 100
        torch.manual_seed(0)
        assert torch.equal(a, self.step(method, batch).loss)
