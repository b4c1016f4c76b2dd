import numpy as np
import torch

from semiseg.metrics.ellipse import Ellipse, draw_ellipse
from tests.methods.contract import MethodContract, tiny_batch


class TestEllipseRefinedSelfTraining(MethodContract):
    method_name = "ersr"
    num_classes = 2

    def test_refine_keeps_clean_and_rejects_fragmented_teacher_masks(self) -> None:
        method = self.make(2)
        clean = draw_ellipse((48, 64), Ellipse(32, 24, 20, 12, 0.2))
        broken = clean.copy()
        broken[:, 30:34] = False
        broken[np.random.default_rng(0).random(clean.shape) > 0.6] = False
        labels = torch.from_numpy(np.stack([clean, broken, np.zeros_like(clean)])).long()
        ref = method.refine(labels)
        assert ref["keep"] == [True, False, False]
        refined, truth = ref["labels"][0].bool(), torch.from_numpy(clean)
        assert (refined & truth).sum() / (refined | truth).sum() > 0.97  # the refitted ellipse
        assert ref["weights"][1].sum() == 0 and ref["weights"][0].min() >= 0.5

    def test_threshold_adapts_and_is_state(self) -> None:
        method = self.make(2)
        assert float(method.score_threshold) == 0.5
        assert "score_threshold" in method.state_dict()
        out = self.step(method, tiny_batch(2, num_classes=2))
        assert 0.5 <= float(method.score_threshold) <= 1.0
        logs = out.logs
        expected = (logs["loss_sup"] + logs["w_cons"] * (logs["loss_cons"] + logs["loss_sym"])
                    + logs["w_pl"] * logs["loss_pl"])
        assert torch.allclose(out.loss.detach(), torch.as_tensor(expected), atol=1e-5)

    def test_needs_two_classes(self) -> None:
        import pytest

        from semiseg.errors import ConfigError
        from semiseg.methods import NetSpec, create_method
        with pytest.raises(ConfigError, match="2 classes"):
            create_method("ersr", {}, NetSpec("unet", 2, 1, 4))
