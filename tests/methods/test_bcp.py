import torch

from semiseg.losses import region_supervised_loss
from semiseg.methods.base import Progress
from semiseg.ssl import box_mask, mix
from tests.methods.contract import MethodContract, tiny_batch


class TestBidirectionalCopyPaste(MethodContract):
    method_name = "bcp"

    def test_phases_split_the_run(self) -> None:
        method = self.make(2)
        assert method.phase_steps(method.config, 4000) == {"pretrain": 1000, "selftrain": 3000}

    def test_mixed_label_is_the_mix_of_the_two_labels(self) -> None:
        """The loss of a copy-paste sample vanishes exactly for the mixed label."""
        torch.manual_seed(0)
        y_a = torch.randint(0, 3, (2, 12, 12))
        y_b = torch.randint(0, 3, (2, 12, 12))
        box = box_mask((12, 12), 2 / 3)
        target = mix(y_a, y_b, box)
        logits = torch.nn.functional.one_hot(target, 3).movedim(-1, 1).float() * 50
        dice, ce = region_supervised_loss(logits, y_a, y_b, box, 0.5, 1.0)
        assert dice < 1e-4 and ce < 1e-4
        wrong = torch.nn.functional.one_hot(y_a, 3).movedim(-1, 1).float() * 50
        assert sum(region_supervised_loss(wrong, y_a, y_b, box, 0.5, 1.0)) > 0.1

    def test_teacher_starts_from_pretrained_student_once(self) -> None:
        method = self.make(2)
        with torch.no_grad():
            for p in method.student.parameters():
                p.add_(1.0)
        method.on_phase_start("selftrain")
        for t, s in zip(method.teacher.parameters(), method.student.parameters(), strict=True):
            assert torch.equal(t, s)
        with torch.no_grad():  # a resumed run calls on_phase_start again: keep the teacher
            for p in method.student.parameters():
                p.add_(1.0)
        method.on_phase_start("selftrain")
        t0 = next(method.teacher.parameters())
        assert not torch.equal(t0, next(method.student.parameters()))
        assert bool(method.state_dict()["teacher_started"])

    def test_pretrain_ignores_unlabeled_and_teacher(self) -> None:
        method = self.make(2)
        batch = tiny_batch(2)
        progress = Progress(0, 1000, "pretrain", 0, 250)
        torch.manual_seed(0)
        a = method.training_step(batch, progress).loss
        batch.x_u = batch.x_u * 100
        with torch.no_grad():
            for p in method.teacher.parameters():
                p.mul_(-1)
        torch.manual_seed(0)
        assert torch.equal(a, method.training_step(batch, progress).loss)
        method.on_after_optimizer_step(progress)  # no EMA before self-training
