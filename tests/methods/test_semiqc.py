from typing import ClassVar

import torch

from semiseg.methods.base import Progress
from tests.methods.contract import MethodContract, tiny_batch


class TestQualityControlledSelfTraining(MethodContract):
    method_name = "semiqc"
    params: ClassVar[dict] = {"qc_threshold": 0.0}  # contract: wiring, everything admitted

    def test_rounds_split_the_run(self) -> None:
        method = self.make(2)
        steps = method.phase_steps(method.config, 4000)
        assert steps == {"supervised": 1000, "round1": 1000, "round2": 1000, "round3": 1000}

    def test_each_round_starts_from_the_current_segmenter(self) -> None:
        method = self.make(2)
        with torch.no_grad():
            for p in method.student.parameters():
                p.add_(0.5)
        method.on_phase_start("round2")
        for t, s in zip(method.teacher.parameters(), method.student.parameters(), strict=True):
            assert torch.equal(t, s)
        with torch.no_grad():  # a resume inside round 2 calls it again: keep the teacher
            for p in method.student.parameters():
                p.add_(0.5)
        method.on_phase_start("round2")
        assert not torch.equal(next(method.teacher.parameters()),
                               next(method.student.parameters()))
        assert int(method.state_dict()["teacher_round"]) == 2

    def test_quality_control_gates_the_pseudo_labels(self) -> None:
        torch.manual_seed(0)
        method = self.make(2)
        method.train()
        batch = tiny_batch(2)
        progress = Progress(600, 1000, "round2", 100, 250)
        method.config.qc_threshold = 1.01  # nothing can pass
        out = method.training_step(batch, progress)
        assert out.logs["accepted_share"] == 0 and out.logs["loss_pseudo"] == 0
        method.config.qc_threshold = 0.0  # everything passes
        out = method.training_step(batch, progress)
        assert out.logs["accepted_share"] == 1 and out.logs["loss_pseudo"] > 0
        assert out.logs["loss_qc"] > 0

    def test_supervised_phase_ignores_unlabeled(self) -> None:
        method = self.make(2)
        out = method.training_step(tiny_batch(2), Progress(0, 1000, "supervised", 0, 250))
        assert "accepted_share" not in out.logs


class TestSelfTraining(MethodContract):
    method_name = "selftrain"

    def test_admits_everything_and_has_no_qc(self) -> None:
        method = self.make(2)
        assert method.qc is None
        out = self.step(method, tiny_batch(2))
        assert out.logs["accepted_share"] == 1 and "loss_qc" not in out.logs
