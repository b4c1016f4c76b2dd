from typing import Any, ClassVar

import torch

from semiseg.methods import create_method
from tests.methods.contract import MethodContract, tiny_batch


class TestUniMatch(MethodContract):
    method_name = "unimatch"
    # an untrained network is never 95% sure: accept every voxel so that the
    # unlabeled streams are exercised
    params: ClassVar[dict[str, Any]] = {"confidence": 0.0}

    def test_strong_view_targets_are_cutmixed_like_the_images(self) -> None:
        method = self.make(2)
        method.config.cutmix_p = 1.0
        torch.manual_seed(0)
        x_u = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 1, 16, 16).contiguous()
        labels = torch.arange(4).view(4, 1, 1).expand(4, 16, 16).contiguous()
        conf = torch.rand(4, 16, 16)
        view, lab, c = method._strong(x_u, labels, conf)
        assert view.shape == x_u.shape
        pasted = lab != labels  # inside the box: the previous sample of the batch
        assert pasted.any() and (~pasted).any()
        assert torch.equal(lab[pasted], labels.roll(1, 0)[pasted])
        assert torch.equal(c[pasted], conf.roll(1, 0)[pasted])
        assert torch.equal(c[~pasted], conf[~pasted])

    def test_confidence_threshold_masks_the_unlabeled_streams(self) -> None:
        spec_method = self.make(2)
        strict = create_method("unimatch", {"confidence": 1.0}, spec_method.net_spec)
        strict.load_state_dict(spec_method.state_dict())
        out = self.step(strict, tiny_batch(2))
        assert out.logs["mask_ratio"] == 0
        assert torch.allclose(out.loss, out.logs["loss_sup"] / 2)  # (sup + 0) / 2
