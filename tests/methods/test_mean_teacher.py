import pytest
import torch

from semiseg.ssl import ema_update, mean_teacher_decay, sigmoid_rampup
from tests.methods.contract import MethodContract, tiny_batch


class TestMeanTeacher(MethodContract):
    method_name = "mean_teacher"

    def test_no_consistency_during_warm_start(self) -> None:
        method = self.make(2)
        out = self.step(method, tiny_batch(2), fraction=0.01)
        assert out.logs["w_cons"] == 0.0
        assert torch.allclose(out.loss, out.logs["loss_sup"])

    def test_weight_follows_sigmoid_rampup(self) -> None:
        method = self.make(2)
        out = self.step(method, tiny_batch(2), fraction=0.5)
        assert out.logs["w_cons"] == pytest.approx(0.1 * sigmoid_rampup(0.5, 1.0))

    def test_teacher_is_ema_of_student(self) -> None:
        method = self.make(2)
        teacher0 = [p.clone() for p in method.teacher.parameters()]
        with torch.no_grad():
            for p in method.student.parameters():
                p.add_(1.0)
        method.on_after_optimizer_step(self.progress())
        decay = mean_teacher_decay(self.progress().step, 0.99)
        for t0, t, s in zip(teacher0, method.teacher.parameters(), method.student.parameters(),
                            strict=True):
            assert torch.allclose(t, decay * t0 + (1 - decay) * s, atol=1e-6)


def test_ema_decay_schedule() -> None:
    assert mean_teacher_decay(0, 0.99) == 0.0
    assert mean_teacher_decay(9, 0.99) == pytest.approx(0.9)
    assert mean_teacher_decay(10_000, 0.99) == 0.99


def test_ema_update_zero_decay_copies() -> None:
    a, b = torch.nn.Linear(3, 3), torch.nn.Linear(3, 3)
    ema_update(a, b, 0.0)
    assert torch.equal(a.weight, b.weight)


def test_sigmoid_rampup_values() -> None:
    assert sigmoid_rampup(0, 10) == pytest.approx(0.006737947)
    assert sigmoid_rampup(10, 10) == 1.0
    assert sigmoid_rampup(5, 0) == 1.0
