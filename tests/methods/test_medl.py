import torch

from semiseg.methods.base import Progress
from semiseg.nets import ResUNet, UNet
from tests.methods.contract import MethodContract, tiny_batch


class TestMutualEvidential(MethodContract):
    method_name = "medl"

    def test_networks_differ_and_reliability_is_state(self) -> None:
        method = self.make(2)
        assert type(method.nets[0]) is UNet and type(method.nets[1]) is ResUNet
        assert "reliability" in method.state_dict()

    def test_unlabeled_voxels_go_from_reliable_to_all(self) -> None:
        method = self.make(2)
        batch = tiny_batch(2)
        method.train()
        early = method.training_step(batch, Progress(0, 100)).logs["reliable_mean"]
        late = method.training_step(batch, Progress(100, 100)).logs["reliable_mean"]
        assert float(early) < 1.0 and float(late) == 1.0  # gamma reaches 0: all voxels count

    def test_class_weights_follow_the_running_dice(self) -> None:
        method = self.make(2)
        assert torch.allclose(method.class_weights(), torch.full((3,), 0.5))
        method.train()
        self.step(method, tiny_batch(2))
        method.on_after_optimizer_step(self.progress())
        assert not torch.allclose(method.reliability, torch.full((2, 3), 0.5))
        method.reliability.copy_(torch.tensor([[0.9, 0.1, 0.5], [0.1, 0.9, 0.5]]))
        assert torch.allclose(method.class_weights(), torch.tensor([0.9, 0.1, 0.5]))

    def test_loss_is_the_sum_of_its_parts(self) -> None:
        out = self.step(self.make(2), tiny_batch(2))
        logs = out.logs
        expected = sum(logs[f"loss_sup{k}"] + logs["w_kl"] * logs[f"loss_kl{k}"]
                       + logs["w_unlabeled"] * logs[f"loss_unsup{k}"] for k in (1, 2))
        assert torch.allclose(out.loss.detach(), expected, atol=1e-4)
