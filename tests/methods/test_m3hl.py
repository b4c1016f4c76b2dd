import pytest
import torch

from semiseg.losses import region_supervised_loss
from semiseg.methods.m3hl import feature_consistency
from tests.methods.contract import MethodContract, tiny_batch


class TestMutualMaskMix(MethodContract):
    method_name = "m3hl"

    def test_mixes_are_complementary(self) -> None:
        """Both mixed images take the other stream's content on the same blocks."""
        method = self.make(2)
        batch = tiny_batch(2, n_l=4, n_u=4)
        torch.manual_seed(3)
        method.train()
        method.on_phase_start("selftrain")
        feats = []
        method.student.encode = lambda x, f=method.student.encode: feats.append(x) or f(x)
        self.step(method, batch)
        mixed = feats[0]
        torch.manual_seed(3)
        mask = method.mix_mask(batch.x_u[:2])
        inside = mask.bool().unsqueeze(1)
        x_a, x_b, u_a, u_b = batch.x_l[:2], batch.x_l[2:], batch.x_u[:2], batch.x_u[2:]
        assert torch.equal(mixed[:2], torch.where(inside, x_a, u_a))
        assert torch.equal(mixed[2:], torch.where(inside, u_b, x_b))
        assert 0 < mask.mean() < 1 and not torch.equal(mask[0], mask[1])

    def test_loss_is_mixed_loss_plus_half_feature_terms(self) -> None:
        method = self.make(2)
        out = self.step(method, tiny_batch(2, n_l=4, n_u=4))
        logs = out.logs
        expected = (logs["loss_in_unlabeled"] + logs["loss_in_labeled"]
                    + 0.5 * (logs["loss_low"] + logs["loss_high"]))
        assert torch.allclose(out.loss.detach(), expected, atol=1e-5)
        assert logs["loss_low"] > 0 and logs["loss_high"] > 0

    def test_mixed_loss_follows_block_regions(self) -> None:
        """Regions of a block mask are scored against their own targets."""
        torch.manual_seed(0)
        method = self.make(2)
        mask = method.mix_mask(torch.zeros(2, 1, 16, 16))
        y_out, y_in = torch.zeros(2, 16, 16, dtype=torch.long), torch.full((2, 16, 16), 2)
        target = torch.where(mask.bool(), y_in, y_out)
        logits = torch.nn.functional.one_hot(target, 3).movedim(-1, 1).float() * 50
        assert sum(region_supervised_loss(logits, y_out, y_in, mask, 0.5, 1.0)) < 1e-4


def test_feature_consistency_by_hand() -> None:
    a = [torch.ones(2, 3, 4, 4), torch.tensor([[1.0, 0.0], [0.0, 1.0]])]
    assert feature_consistency([a], [a]) == (0.0, pytest.approx(0.0, abs=1e-6))
    b = [torch.full((2, 3, 4, 4), 3.0), torch.tensor([[0.0, 1.0], [0.0, 2.0]])]
    low, high = feature_consistency([a], [b])
    assert low == pytest.approx(2.0)
    assert high == pytest.approx((1 - 0.0 + 1 - 1.0) / 2)  # orthogonal, then parallel
    # averaged over all four student/teacher pairs
    low4, _ = feature_consistency([a, b], [a, b])
    assert low4 == pytest.approx((0 + 2 + 2 + 0) / 4)
