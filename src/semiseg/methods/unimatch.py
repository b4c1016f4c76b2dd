"""UniMatch (Yang et al., CVPR 2023), defaults of the authors' medical (ACDC) code.

One network. The weak view's predictions give pseudo-labels (kept where the top
probability is at least 0.95); two strong views (colour jitter, blur, CutMix with
another unlabeled image) learn them with a masked Dice loss, and a feature-perturbation
stream (channel dropout 0.5 on every encoder level, then the decoder) learns them from
the weak view's own features. Loss ``(sup + 0.25 s1 + 0.25 s2 + 0.5 fp) / 2`` with
``sup = (CE + Dice) / 2``; no ramp-up.

Deviations: the CutMix partner of each unlabeled image is the next image of the same
batch (UniMatch draws a second unlabeled batch and predicts it in eval mode), which saves
a forward pass; the partner's pseudo-labels are therefore the weak-view predictions of
the train-mode pass. The network must expose ``encode``/``decode`` (the UNet does).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from semiseg.losses import dice_loss, supervised_loss
from semiseg.methods.base import NetSpec, Progress, SemiBatch, SemiSupervisedMethod, StepOutput
from semiseg.ssl import (
    confident_pseudo_labels,
    cutmix_masks,
    feature_dropout,
    mix,
    strong_intensity,
)


class UniMatch(SemiSupervisedMethod):
    """Weak-to-strong consistency with image- and feature-level perturbation streams."""

    name = "unimatch"

    @dataclass
    class Config:
        """UniMatch hyper-parameters (authors' ACDC defaults)."""

        confidence: float = 0.95
        feature_dropout: float = 0.5
        cutmix_p: float = 0.5
        weight_strong: float = 0.25
        weight_fp: float = 0.5

    def __init__(self, config: Config, net: NetSpec) -> None:
        super().__init__(config, net)
        self.student = net.build()

    def _strong(self, x_u: torch.Tensor, labels: torch.Tensor, keep: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A strong view CutMixed with the rolled batch, and its mixed targets.

        ``labels`` and the voxel mask ``keep`` (``[B, *S]``) are mixed like the images.
        """
        box = cutmix_masks(x_u.shape[0], x_u.shape[2:], self.config.cutmix_p, device=x_u.device)
        strong = strong_intensity(x_u)
        mixed = mix(strong, strong.roll(1, dims=0), box)
        return (mixed, mix(labels, labels.roll(1, dims=0), box),
                mix(keep, keep.roll(1, dims=0), box))

    def training_step(self, batch: SemiBatch, progress: Progress) -> StepOutput:
        """Supervised + two strong-view and one feature-perturbed unsupervised Dice terms."""
        cfg = self.config
        n_l, n_u = batch.x_l.shape[0], batch.x_u.shape[0]
        feats = self.student.encode(torch.cat([batch.x_l, batch.x_u]))
        perturbed = feature_dropout([f[n_l:] for f in feats], cfg.feature_dropout)
        logits = self.student.decode([torch.cat([f, p]) for f, p in zip(feats, perturbed,
                                                                         strict=True)])
        logits_l, logits_w, logits_fp = logits[:n_l], logits[n_l:n_l + n_u], logits[n_l + n_u:]
        with torch.no_grad():
            labels, _, keep = confident_pseudo_labels(logits_w.float().softmax(1),
                                                      cfg.confidence)
            views = [self._strong(batch.x_u, labels, keep) for _ in range(2)]
        prob_s = self.student(torch.cat([v[0] for v in views])).float().softmax(1)
        loss_sup = supervised_loss(logits_l, batch.y_l)
        loss_s = [dice_loss(prob, lab, weight=k)
                  for prob, (_, lab, k) in zip(prob_s.chunk(2), views, strict=True)]
        loss_fp = dice_loss(logits_fp.float().softmax(1), labels, weight=keep)
        loss = (loss_sup + cfg.weight_strong * (loss_s[0] + loss_s[1])
                + cfg.weight_fp * loss_fp) / 2
        return StepOutput(loss, {"loss_sup": loss_sup.detach(), "loss_s1": loss_s[0].detach(),
                                 "loss_s2": loss_s[1].detach(), "loss_fp": loss_fp.detach(),
                                 "mask_ratio": keep.mean()})

    def predictor(self) -> nn.Module:
        """The network."""
        return self.student
