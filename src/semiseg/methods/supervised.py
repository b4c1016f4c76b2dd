"""Supervised baseline: labeled data only, SSL4MIS loss ``0.5 * (CE + Dice)``.

Paper: the "UNet labeled-only" rows of SSL4MIS (Luo et al., github HiLab-git/SSL4MIS).
Deviations: none (the engine draws the whole batch from labeled samples, as SSL4MIS's
``train_fully_supervised_2D.py`` does).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from semiseg.losses import supervised_loss
from semiseg.methods.base import NetSpec, Progress, SemiBatch, SemiSupervisedMethod, StepOutput


class Supervised(SemiSupervisedMethod):
    """One network trained on labeled samples only."""

    name = "supervised"
    uses_unlabeled = False

    @dataclass
    class Config:
        """No hyper-parameters beyond the engine's."""

    def __init__(self, config: Config, net: NetSpec) -> None:
        super().__init__(config, net)
        self.student = net.build()

    def training_step(self, batch: SemiBatch, progress: Progress) -> StepOutput:
        """Supervised loss of the labeled batch."""
        loss = supervised_loss(self.student(batch.x_l), batch.y_l)
        return StepOutput(loss, {"loss_sup": loss.detach()})

    def predictor(self) -> nn.Module:
        """The trained network."""
        return self.student
