"""Uncertainty-aware Mean Teacher (UA-MT; Yu et al., MICCAI 2019), SSL4MIS defaults.

Mean Teacher whose consistency counts only voxels where the teacher is certain: the
teacher predicts ``mc_passes`` noisy copies of each unlabeled image (Monte-Carlo dropout
+ input noise), the entropy of their mean probability is the uncertainty, and the
consistency keeps voxels below a threshold ramped from 0.75 to 1.0 of the maximal
entropy over the run. Consistency = ``sum(mask * (p_s - p_t)^2) / (2 sum(mask))`` with
the squared difference summed over classes, as SSL4MIS computes it.

Defaults follow SSL4MIS ``train_uncertainty_aware_mean_teacher_2D.py``: 8 passes, noise
``clamp(N(0, 0.1), ±0.2)``, EMA 0.99, weight 0.1 with the sigmoid ramp-up, no warm start.

Deviations: the threshold's reference is ``ln(K)`` (the maximal entropy of K classes,
what the binary paper's ``ln 2`` means); SSL4MIS's 2D script keeps ``ln 2`` for 4 classes
(``entropy_reference: binary`` reproduces it). The 8 passes run as one batched forward.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from semiseg.errors import ConfigError
from semiseg.losses import supervised_loss
from semiseg.methods.base import NetSpec, Progress, SemiBatch, StepOutput
from semiseg.methods.mean_teacher import MeanTeacher
from semiseg.ssl import entropy, sigmoid_rampup


class UncertaintyAwareMeanTeacher(MeanTeacher):
    """Mean Teacher with an entropy mask from Monte-Carlo teacher passes."""

    name = "ua_mt"

    @dataclass
    class Config(MeanTeacher.Config):
        """UA-MT hyper-parameters (SSL4MIS defaults)."""

        warmup_fraction: float = 0.0
        mc_passes: int = 8
        threshold_start: float = 0.75
        threshold_end: float = 1.0
        entropy_reference: str = "num_classes"  # or "binary" (SSL4MIS 2D's ln 2)

    def __init__(self, config: Config, net: NetSpec) -> None:
        super().__init__(config, net)
        if config.entropy_reference not in ("num_classes", "binary"):
            raise ConfigError(f"method.params.entropy_reference: {config.entropy_reference!r} "
                              "is not one of ('num_classes', 'binary')")
        if config.mc_passes < 1:
            raise ConfigError("method.params.mc_passes must be >= 1")
        classes = net.num_classes if config.entropy_reference == "num_classes" else 2
        self.max_entropy = math.log(classes)

    def threshold(self, progress: Progress) -> float:
        """Entropy threshold (nats), ramped over the run."""
        cfg = self.config
        ramp = sigmoid_rampup(progress.fraction, 1.0)
        return (cfg.threshold_start + (cfg.threshold_end - cfg.threshold_start) * ramp
                ) * self.max_entropy

    def training_step(self, batch: SemiBatch, progress: Progress) -> StepOutput:
        """Supervised loss + uncertainty-masked consistency on ``x_u``."""
        n_l, n_u = batch.x_l.shape[0], batch.x_u.shape[0]
        logits = self.student(torch.cat([batch.x_l, batch.x_u]))
        loss_sup = supervised_loss(logits[:n_l], batch.y_l)
        with torch.no_grad():
            prob_teacher = self.teacher(self.add_noise(batch.x_u)).float().softmax(1)
            repeated = batch.x_u.repeat(self.config.mc_passes, *[1] * (batch.x_u.ndim - 1))
            prob_mc = self.teacher(self.add_noise(repeated)).float().softmax(1)
            prob_mean = prob_mc.view(self.config.mc_passes, n_u, *prob_mc.shape[1:]).mean(0)
            mask = (entropy(prob_mean) < self.threshold(progress)).float().unsqueeze(1)
        dist = (logits[n_l:].float().softmax(1) - prob_teacher) ** 2
        loss_cons = (mask * dist).sum() / (2 * mask.sum() + 1e-16)
        weight = self.consistency_weight(progress)
        return StepOutput(loss_sup + weight * loss_cons,
                          {"loss_sup": loss_sup.detach(), "loss_cons": loss_cons.detach(),
                           "w_cons": weight, "mask_ratio": mask.mean()})
