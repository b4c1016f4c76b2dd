"""The contract every method passes: subclass ``MethodContract``, set ``method_name``.

Checks: finite loss in 2D and 3D on tiny inputs (a method limited to some dimensions
refuses the others with a configuration error); the unlabeled term reaches the student
(gradient flows to ``x_u``); teachers get no gradients; the optimizer groups hold every
trainable parameter and no teacher's; a state-dict round trip reproduces the predictor;
the same seed gives the same loss.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
import torch

from semiseg.errors import ConfigError
from semiseg.methods import METHODS, NetSpec, Progress, SemiBatch, create_method


def tiny_batch(spatial_dims: int, seed: int = 0, n_l: int = 2, n_u: int = 2,
               num_classes: int = 3) -> SemiBatch:
    """Random images and blob labels of 16^2 (2D) or 16^3 (3D)."""
    g = torch.Generator().manual_seed(seed)
    shape = (16,) * spatial_dims
    x_l = torch.randn((n_l, 1, *shape), generator=g)
    y_l = torch.zeros((n_l, *shape), dtype=torch.long)
    y_l[(slice(None), *[slice(4, 12)] * spatial_dims)] = 1
    y_l[(slice(None), *[slice(6, 10)] * spatial_dims)] = num_classes - 1
    x_l = x_l + y_l[:, None].float()
    x_u = torch.randn((n_u, 1, *shape), generator=g)
    meta = {}
    for suffix, n in (("_l", n_l), ("_u", n_u)):  # what the engine's slice banks provide
        i = torch.arange(n)  # pairs of volumes of one patient (ED, ES), same slice position
        meta[f"case_index{suffix}"] = i
        meta[f"patient_index{suffix}"] = i // 2
        meta[f"phase_index{suffix}"] = i % 2
        meta[f"slice_position{suffix}"] = (i // 2 % 4 + 0.5) / 4
    return SemiBatch(x_l=x_l, y_l=y_l, x_u=x_u, meta=meta)


class MethodContract:
    """Base class of the per-method tests."""

    method_name: ClassVar[str]
    params: ClassVar[dict[str, Any]] = {}
    num_classes: ClassVar[int] = 3
    n_u: ClassVar[int] = 2  # unlabeled samples per tiny batch (contrastive methods need more)

    @property
    def dim(self) -> int:
        """The first dimensionality the method supports (2 for most)."""
        return METHODS.get(self.method_name).supported_dims[0]

    def batch(self, spatial_dims: int, seed: int = 0) -> SemiBatch:
        return tiny_batch(spatial_dims, seed, n_u=self.n_u, num_classes=self.num_classes)

    def make(self, spatial_dims: int, seed: int = 0):
        torch.manual_seed(seed)
        spec = NetSpec("unet", spatial_dims, 1, self.num_classes,
                       {"channels": [4, 8, 16], "dropout": [0.0, 0.1, 0.2]})
        return create_method(self.method_name, self.params, spec)

    def progress(self, fraction: float = 0.6) -> Progress:
        total = 1000
        return Progress(step=int(fraction * total), total_steps=total, phase=self.phase(),
                        phase_step=int(fraction * total), phase_steps=total)

    def phase(self) -> str:
        return METHODS.get(self.method_name).phases[-1]

    def step(self, method, batch: SemiBatch, fraction: float = 0.6):
        method.train()
        method.on_phase_start(self.phase())
        return method.training_step(batch, self.progress(fraction))

    @pytest.mark.parametrize("spatial_dims", [2, 3])
    def test_finite_loss(self, spatial_dims: int) -> None:
        if spatial_dims not in METHODS.get(self.method_name).supported_dims:
            with pytest.raises(ConfigError, match=r"method\.name"):  # a clear config error
                self.make(spatial_dims)
            return
        method = self.make(spatial_dims)
        out = self.step(method, self.batch(spatial_dims))
        assert out.loss.ndim == 0 and torch.isfinite(out.loss)
        assert out.loss.requires_grad
        for key, value in out.logs.items():
            assert torch.isfinite(torch.as_tensor(value)).all(), key

    def test_unlabeled_term_reaches_student(self) -> None:
        method = self.make(self.dim)
        if not method.uses_unlabeled:
            pytest.skip("labeled-only method")
        batch = self.batch(self.dim)
        batch.x_u.requires_grad_(True)
        self.step(method, batch).loss.backward()
        assert batch.x_u.grad is not None and batch.x_u.grad.abs().sum() > 0

    def test_teacher_gets_no_gradients(self) -> None:
        method = self.make(self.dim)
        self.step(method, self.batch(self.dim)).loss.backward()
        for teacher in method.teachers():
            for p in teacher.parameters():
                assert not p.requires_grad and p.grad is None

    def test_optimizer_groups_cover_trainable_parameters(self) -> None:
        method = self.make(self.dim)
        grouped = {id(p) for params in method.optimizer_groups().values() for p in params}
        trainable = {id(p) for p in method.parameters() if p.requires_grad}
        teacher = {id(p) for t in method.teachers() for p in t.parameters()}
        assert grouped == trainable and not grouped & teacher

    def test_hook_after_step_runs(self) -> None:
        method = self.make(self.dim)
        out = self.step(method, self.batch(self.dim))
        out.loss.backward()
        method.on_after_optimizer_step(self.progress())

    def test_state_round_trip(self) -> None:
        method = self.make(self.dim, seed=1)
        self.step(method, self.batch(self.dim)).loss.backward()
        clone = self.make(self.dim, seed=2)
        clone.load_state_dict(method.state_dict())
        x = torch.randn(2, 1, *(16,) * self.dim)
        a, b = method.predictor().eval(), clone.predictor().eval()
        with torch.no_grad():
            assert torch.equal(a(x), b(x))

    def test_seeded_determinism(self) -> None:
        losses = []
        for _ in range(2):
            method = self.make(self.dim, seed=5)
            torch.manual_seed(11)
            losses.append(self.step(method, self.batch(self.dim)).loss)
        assert torch.equal(losses[0].detach(), losses[1].detach())
