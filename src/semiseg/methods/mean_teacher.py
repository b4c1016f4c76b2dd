"""Mean Teacher (Tarvainen & Valpola, NeurIPS 2017), SSL4MIS defaults.

The student sees labeled and unlabeled images in one forward pass; an EMA teacher sees
the unlabeled images plus clamped Gaussian noise; the consistency loss is the MSE
between their softmaxes, weighted by ``consistency * sigmoid_rampup``.

Defaults follow SSL4MIS ``train_mean_teacher_2D.py``: EMA decay
``min(1 - 1/(t+1), 0.99)``, noise ``clamp(N(0, 0.1), ±0.2)``, weight 0.1, no consistency
for the first 1000 of 30000 iterations, sigmoid ramp-up over the whole run
(``iter // 150`` against a length of 200). Validation uses the student, as SSL4MIS does.

Deviations: the ramp-up and the consistency-free warm start are fractions of the run
(``rampup_fraction`` 1.0, ``warmup_fraction`` 1/30) so that shorter protocols keep the
same shape; the ramp is continuous instead of in steps of 150 iterations.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from semiseg.losses import softmax_mse, supervised_loss
from semiseg.methods.base import (
    NetSpec,
    Progress,
    SemiBatch,
    SemiSupervisedMethod,
    StepOutput,
    freeze,
)
from semiseg.ssl import ema_update, mean_teacher_decay, ramped_weight


class MeanTeacher(SemiSupervisedMethod):
    """Student + EMA teacher with softmax-MSE consistency on unlabeled images."""

    name = "mean_teacher"

    @dataclass
    class Config:
        """Mean Teacher hyper-parameters (SSL4MIS defaults)."""

        ema_decay: float = 0.99
        consistency: float = 0.1
        rampup_fraction: float = 1.0
        warmup_fraction: float = 1 / 30
        noise_std: float = 0.1
        noise_clip: float = 0.2

    def __init__(self, config: Config, net: NetSpec) -> None:
        super().__init__(config, net)
        self.student = net.build()
        self.teacher = freeze(copy.deepcopy(self.student))

    def consistency_weight(self, progress: Progress) -> float:
        """``consistency * sigmoid_rampup``, 0 during the warm start."""
        cfg = self.config
        return ramped_weight(progress.fraction, cfg.consistency, cfg.rampup_fraction,
                             cfg.warmup_fraction)

    def add_noise(self, x: torch.Tensor) -> torch.Tensor:
        """The teacher's input: ``x + clamp(N(0, noise_std), ±noise_clip)``."""
        cfg = self.config
        return x + (torch.randn_like(x) * cfg.noise_std).clamp(-cfg.noise_clip, cfg.noise_clip)

    def training_step(self, batch: SemiBatch, progress: Progress) -> StepOutput:
        """Supervised loss on ``x_l`` + weighted consistency on ``x_u``."""
        n_l = batch.x_l.shape[0]
        logits = self.student(torch.cat([batch.x_l, batch.x_u]))
        loss_sup = supervised_loss(logits[:n_l], batch.y_l)
        weight = self.consistency_weight(progress)
        with torch.no_grad():
            prob_teacher = self.teacher(self.add_noise(batch.x_u)).float().softmax(1)
        loss_cons = softmax_mse(logits[n_l:], prob_teacher)
        loss = loss_sup + weight * loss_cons
        return StepOutput(loss, {"loss_sup": loss_sup.detach(), "loss_cons": loss_cons.detach(),
                                 "w_cons": weight})

    def on_after_optimizer_step(self, progress: Progress) -> None:
        """EMA update of the teacher."""
        ema_update(self.teacher, self.student, mean_teacher_decay(progress.step,
                                                                  self.config.ema_decay))

    def predictor(self) -> nn.Module:
        """The student (SSL4MIS validates and tests the student)."""
        return self.student

    def optimizer_groups(self) -> dict[str, list[nn.Parameter]]:
        """Only the student is optimised."""
        return {"student": list(self.student.parameters())}

    def teachers(self) -> list[nn.Module]:
        """The EMA teacher."""
        return [self.teacher]
