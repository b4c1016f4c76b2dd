import pytest
import torch
import torch.nn.functional as F

from semiseg.methods.transmedseg import (
    augmentation_terms,
    class_statistics,
    transferable_cross_entropy,
)
from tests.methods.contract import MethodContract, tiny_batch


class TestTransMedSeg(MethodContract):
    method_name = "transmedseg"

    def test_memory_first_sighting_then_ema(self) -> None:
        method = self.make(2)
        feats = torch.zeros(1, 4, 2, 2)
        feats[0, 0] = torch.tensor([[1.0, 3.0], [5.0, 7.0]])
        labels = torch.tensor([[[0, 0], [1, 1]]])
        method.update_memory(feats, feats * 0, labels)
        assert method.seen.tolist() == [True, True, False]
        assert method.mean_student[:, 0].tolist() == [2.0, 6.0, 0.0]
        assert method.cov_student[0, 0, 0] == 1.0  # var of {1, 3}
        method.update_memory(feats + 100, feats * 0, labels)
        assert method.mean_student[0, 0].item() == pytest.approx(0.99 * 2 + 0.01 * 102)

    def test_loss_is_the_sum_of_its_parts(self) -> None:
        out = self.step(self.make(2), tiny_batch(2))
        logs = out.logs
        expected = logs["loss_sup"] + logs["w_cons"] * (logs["loss_cons"] + logs["loss_tsa"])
        assert torch.allclose(out.loss.detach(), expected, atol=1e-5)

    def test_transfer_weight_zero_drops_the_term_only(self) -> None:
        self.params = {"transfer_weight": 0.0}
        out = self.step(self.make(2), tiny_batch(2))
        logs = out.logs
        assert logs["loss_tsa"] > 0  # still computed and logged
        expected = logs["loss_sup"] + logs["w_cons"] * logs["loss_cons"]
        assert torch.allclose(out.loss.detach(), expected, atol=1e-6)


def test_class_statistics_by_hand() -> None:
    feats = torch.tensor([[1.0, 2.0, 3.0, 10.0], [0.0, 0.0, 2.0, 4.0]]).view(1, 2, 2, 2)
    labels = torch.tensor([0, 0, 1, 1]).view(1, 2, 2)
    count, mean, cov = class_statistics(feats, labels, 3)
    assert count.tolist() == [2, 2, 0]
    assert mean.tolist() == [[1.5, 0.0], [6.5, 3.0], [0.0, 0.0]]
    assert torch.allclose(cov[1], torch.tensor([[12.25, 3.5], [3.5, 1.0]]))


def test_augmentation_table_matches_the_formula() -> None:
    torch.manual_seed(0)
    w, shift = torch.randn(3, 4), torch.randn(3, 4)
    a = torch.randn(3, 4, 4)
    cov = a @ a.transpose(1, 2)
    table = augmentation_terms(w, shift, cov, 0.5)
    for y in range(3):
        for j in range(3):
            d = w[j] - w[y]
            expected = 0.5 * d @ shift[y] + 0.25 * d @ cov[y] @ d
            assert table[y, j].item() == pytest.approx(expected.item(), rel=1e-4, abs=1e-5)
    assert torch.all(table.diagonal() == 0)


def test_transferable_ce_bounds_plain_ce() -> None:
    torch.manual_seed(0)
    logits, target = torch.randn(2, 3, 4, 4), torch.randint(0, 3, (2, 4, 4))
    zero = torch.zeros(3, 3)
    assert torch.allclose(transferable_cross_entropy(logits, target, zero),
                          F.cross_entropy(logits, target))
    w = torch.randn(3, 5)
    a = torch.randn(3, 5, 5)
    table = augmentation_terms(w, torch.zeros(3, 5), a @ a.transpose(1, 2), 1.0)
    assert transferable_cross_entropy(logits, target, table) > F.cross_entropy(logits, target)
