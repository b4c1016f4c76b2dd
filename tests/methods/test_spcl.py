import torch

from semiseg.methods.base import Progress
from tests.methods.contract import MethodContract, tiny_batch


class TestContrastivePretraining(MethodContract):
    method_name = "spcl_pretrain"
    n_u = 4

    def phase(self) -> str:
        return "encoder"  # the decoder stage freezes the encoder: no gradient reaches x_u

    def test_decoder_stage_leaves_the_encoder_alone(self) -> None:
        method = self.make(2)
        method.train()
        out = method.training_step(tiny_batch(2), Progress(900, 1000, "decoder", 400, 500))
        out.loss.backward()
        assert all(p.grad is None for p in method.net.encoder.parameters())
        assert any(p.grad is not None for p in method.dense_head.parameters())
        assert "loss_decoder" in out.logs

    def test_asks_for_grouped_batches(self) -> None:
        assert self.make(2).grouped_partitions() == 4


class TestSelfPacedContrastive(MethodContract):
    method_name = "spcl"
    n_u = 4

    def test_loss_is_supervised_plus_weighted_contrast(self) -> None:
        out = self.step(self.make(2), tiny_batch(2))
        logs = out.logs
        expected = logs["loss_sup"] + 0.1 * logs["loss_contrast"]
        assert torch.allclose(out.loss.detach(), expected, atol=1e-5)
