"""Cross pseudo supervision (CPS; Chen et al., CVPR 2021), SSL4MIS defaults.

Two networks of the same architecture and different initialisation (SSL4MIS: the first
Kaiming-normal, the second Xavier-normal); each is supervised on labeled images and, on
unlabeled ones, by the other's hard pseudo-labels (cross-entropy on the argmax, no
gradient through the pseudo-label). The pseudo-loss weight is ``0.1 * sigmoid_rampup``
over the run, as SSL4MIS ``train_cross_pseudo_supervision_2D.py``; the first network is
validated and exported.

Deviations: one optimizer over both networks (SSL4MIS keeps two with the same
settings, which is the same update); the ramp-up is a fraction of the run.

Short schedules: the Kaiming-normal first network learns poorly over a few thousand
iterations and its pseudo-labels then pull its partner down. Measured on acdc-dev (3
labeled patients, 4000 iterations, seed 0; BENCHMARKS.md): 20.4 % val Dice with the
SSL4MIS schemes, 56.3 % with ``init_first: default`` (PyTorch's initialisation), against
38.5 % for ``supervised``. The default stays SSL4MIS's so that its protocol reproduces;
set ``method.params.init_first=default`` for short runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from semiseg.errors import ConfigError
from semiseg.losses import supervised_loss
from semiseg.methods.base import NetSpec, Progress, SemiBatch, SemiSupervisedMethod, StepOutput
from semiseg.nets import initialize
from semiseg.ssl import ramped_weight, strong_intensity


class CrossPseudoSupervision(SemiSupervisedMethod):
    """Two networks teaching each other with hard pseudo-labels."""

    name = "cps"

    @dataclass
    class Config:
        """CPS hyper-parameters (SSL4MIS defaults)."""

        consistency: float = 0.1
        rampup_fraction: float = 1.0
        init_first: str = "kaiming_normal"
        init_second: str = "xavier_normal"

    def __init__(self, config: Config, net: NetSpec) -> None:
        super().__init__(config, net)
        nets = []
        for key in ("init_first", "init_second"):
            try:
                nets.append(initialize(net.build(), getattr(config, key)))
            except ValueError as e:
                raise ConfigError(f"method.params.{key}: {e}") from None
        self.nets = nn.ModuleList(nets)

    def pseudo_weight(self, progress: Progress) -> float:
        """Weight of the cross pseudo-supervision terms."""
        return ramped_weight(progress.fraction, self.config.consistency,
                             self.config.rampup_fraction)

    def weak_strong_logits(self, batch: SemiBatch) -> tuple[Tensor, Tensor, list[Tensor]]:
        """ABD-style views: the first network on the batch, the second on a strong view.

        Returns:
            ``(x_w, x_s, [logits_1, logits_2])``: ``x_w`` = labeled + unlabeled images,
            ``x_s`` its photometric strong view (no gradient), each ``[B, C, *S]``.
        """
        x_w = torch.cat([batch.x_l, batch.x_u])
        with torch.no_grad():
            x_s = strong_intensity(x_w)
        return x_w, x_s, [self.nets[0](x_w), self.nets[1](x_s)]

    def training_step(self, batch: SemiBatch, progress: Progress) -> StepOutput:
        """Both networks: supervised loss + weighted CE on the other's pseudo-labels."""
        n_l = batch.x_l.shape[0]
        x = torch.cat([batch.x_l, batch.x_u])
        logits = [net(x) for net in self.nets]
        pseudo = [lg[n_l:].detach().argmax(1) for lg in logits]
        loss_sup = sum(supervised_loss(lg[:n_l], batch.y_l) for lg in logits)
        loss_cps: Tensor = sum(F.cross_entropy(logits[i][n_l:].float(), pseudo[1 - i])
                               for i in range(2))
        weight = self.pseudo_weight(progress)
        return StepOutput(loss_sup + weight * loss_cps,
                          {"loss_sup": loss_sup.detach(), "loss_cps": loss_cps.detach(),
                           "w_cps": weight})

    def predictor(self) -> nn.Module:
        """The first network."""
        return self.nets[0]
