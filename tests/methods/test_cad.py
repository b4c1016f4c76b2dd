import torch

from semiseg.methods.base import Progress
from tests.methods.contract import MethodContract, tiny_batch


class TestConfidenceAwareDisplacement(MethodContract):
    method_name = "cad"

    def test_threshold_and_size_escalate(self) -> None:
        method = self.make(2)
        start = method.escalation(Progress(0, 100))
        end = method.escalation(Progress(99, 100))
        assert start == (0.75, 0.25)
        assert end[0] > 0.94 and end[1] > 0.49

    def test_replaced_region_is_the_largest_low_confidence_component(self) -> None:
        method = self.make(2)
        view, other = torch.zeros(1, 1, 16, 16), torch.ones(1, 1, 16, 16)
        conf_view = torch.ones(1, 16, 16)
        conf_view[0, 1:3, 1:3] = 0.1
        conf_view[0, 6:9, 9:12] = 0.5  # largest doubtful component: a 3x3 box
        conf_other = torch.ones(1, 16, 16)
        out = method.displace(view, other, conf_view, conf_other, Progress(0, 100))
        expected = torch.zeros(1, 1, 16, 16)
        expected[0, 0, 6:9, 9:12] = 1
        assert torch.equal(out, expected)
        # late in training the threshold is higher: the doubt at 0.9 now counts too
        conf_view[0, 10:16, 0:6] = 0.9
        out = method.displace(view, other, conf_view, conf_other, Progress(99, 100))
        assert out.sum() == 36 and out[0, 0, 10:16, 0:6].all()

    def test_loss_is_the_sum_of_its_parts(self) -> None:
        # ABD's terms (ABD-I weight 2) plus the teacher's on the displaced views
        out = self.step(self.make(2), tiny_batch(2))
        logs = out.logs
        expected = sum(logs[f"loss_sup{k}"] + 2 * logs[f"loss_abd_i{k}"] + logs["w_cross"]
                       * (logs[f"loss_cross{k}"] + logs[f"loss_teacher{k}"]) for k in (1, 2))
        assert torch.allclose(out.loss.detach(), expected, atol=1e-5)

    def test_unlabeled_views_are_displaced_by_llcr_not_abd_r(self) -> None:
        # a doubtful 3x3 blob in the weak view's confidence: only that box moves, taken
        # from the strong view's most confident window, whatever ABD's grid would pick
        method = self.make(2)
        u_w, u_s = torch.zeros(1, 1, 16, 16), torch.ones(1, 1, 16, 16)
        p_w = torch.full((1, 2, 16, 16), 0.0)
        p_w[:, 0] = 1.0
        p_w[0, :, 6:9, 9:12] = 0.5
        p_s = p_w.clone()
        p_s[0, :, 6:9, 9:12] = torch.tensor([1.0, 0.0]).view(2, 1, 1)
        p_s[0, :, 0:3, 0:3] = 0.5  # the strong view doubts elsewhere
        out = method.unlabeled_displacement(u_w, u_s, [p_w.log(), p_s.log()], [p_w, p_s],
                                            Progress(0, 100))
        weak, strong = out[:1], out[1:]
        assert weak.sum() == 9 and weak[0, 0, 6:9, 9:12].all()
        assert (strong == 0).sum() == 9 and (strong[0, 0, 0:3, 0:3] == 0).all()
