import torch

from semiseg.methods.base import Progress
from tests.methods.contract import MethodContract, tiny_batch


class TestAdaptiveBidirectionalDisplacement(MethodContract):
    method_name = "abd"

    def test_abd_i_switches_off_after_two_thirds(self) -> None:
        method = self.make(2)
        batch = tiny_batch(2)
        logs = {}
        for fraction in (0.5, 0.8):
            torch.manual_seed(0)
            logs[fraction] = self.step(method, batch, fraction=fraction)
        assert logs[0.5].logs["loss_abd_i1"] > 0 and logs[0.5].logs["loss_abd_i2"] > 0
        assert logs[0.8].logs["loss_abd_i1"] == 0 and logs[0.8].logs["loss_abd_i2"] == 0
        parts = logs[0.5].logs
        expected = sum(parts[f"loss_sup{k}"] + 2.0 * parts[f"loss_abd_i{k}"]
                       + parts["w_cross"] * parts[f"loss_cross{k}"] for k in (1, 2))
        assert torch.allclose(logs[0.5].loss, expected, atol=1e-5)

    def test_views_are_weak_and_strong(self) -> None:
        method = self.make(2)
        seen = []
        for net in method.nets:
            net.register_forward_hook(lambda m, inp, out: seen.append(inp[0].detach()))
        batch = tiny_batch(2)
        method.train()
        method.training_step(batch, Progress(0, 100))
        x_w = torch.cat([batch.x_l, batch.x_u])
        assert torch.equal(seen[0], x_w)  # first network: the weak view itself
        assert seen[1].shape == x_w.shape  # second: the strong view of the same images
        # second pass: 2 x labeled (ABD-I) + 2 x unlabeled (ABD-R) displaced images
        assert seen[2].shape[0] == 2 * batch.x_l.shape[0] + 2 * batch.x_u.shape[0]
