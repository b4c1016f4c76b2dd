import math

import pytest
import torch

from tests.methods.contract import MethodContract, tiny_batch


class TestUncertaintyAwareMeanTeacher(MethodContract):
    method_name = "ua_mt"

    def test_threshold_ramps_from_three_quarters_to_max_entropy(self) -> None:
        method = self.make(2)
        assert method.threshold(self.progress(0.0)) == pytest.approx(
            (0.75 + 0.25 * math.exp(-5)) * math.log(3))
        assert method.threshold(self.progress(1.0)) == pytest.approx(math.log(3))

    def test_binary_reference_reproduces_ssl4mis_2d(self) -> None:
        type(self).params = {"entropy_reference": "binary"}
        try:
            assert self.make(2).threshold(self.progress(1.0)) == pytest.approx(math.log(2))
        finally:
            type(self).params = {}

    def test_certain_voxels_only(self) -> None:
        """A zero threshold masks every voxel out: the loss is the supervised loss alone."""
        method = self.make(2)
        method.threshold = lambda progress: 0.0
        out = self.step(method, tiny_batch(2))
        assert out.logs["mask_ratio"] == 0
        assert torch.allclose(out.loss, out.logs["loss_sup"])
        method.threshold = lambda progress: 10.0  # above ln K: every voxel counts
        out = self.step(method, tiny_batch(2))
        assert out.logs["mask_ratio"] == 1 and out.logs["loss_cons"] > 0
