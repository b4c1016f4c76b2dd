"""Complementary competition and contrastive selection (C3S3; He et al., ICME 2025).

Defaults of the authors' LA script (Y-TARL/C3S3, read, not copied), in 2D and 3D. Two
students of different architecture (the configured network, a UNet by default, and a
ResNet-34-encoder UNet) each see two views of the batch; each has a 1x1-conv projection
head (16 channels) on its last decoder features.

- Dynamic complementary competition: each step, the student with the lower labeled loss
  ``alpha CE + (1 - alpha) Dice`` (``alpha`` 0.8, summed over both views) wins; on
  unlabeled images its predictions, sharpened with temperature 0.1, supervise the
  loser by softmax MSE (both views), weighted ``0.1 sigmoid_rampup``; the winner gets no
  unlabeled term.
- Each student: supervised ``(CE + Dice) / 2`` per view, and ``1 - cosine`` between its
  class scores on the two views.
- Outcome-driven contrastive learning: :func:`outcome_contrastive_loss` between the two
  students' projections for the four view pairs; the authors add these terms to both
  students' losses, so the joint loss counts them twice. The logged ``loss_contrast`` (8
  InfoNCE terms) sits near its minimum ``8 ln N`` (``N`` voxels per view pair, about 97.5
  on acdc-dev's 12 x 128 x 128) and dominates the logged ``loss``; see the loss for why.

Deviations: the second view is a photometric strong view (brightness/contrast jitter
and blur) of the same crop; the ramp-up spans the run (the LA script's 40 x 150
iterations is longer than its 2500-iteration run); the contrastive loss generalises
the binary ``foreground`` to "same foreground class" (agreement) and "any foreground"
(union); one optimizer over both students (same update as the two identical SGDs).

Prediction (validation, model selection, inference): the mean of both students' softmax,
as in the authors' test script (``predict_with: both``); ``first`` uses the configured
network alone (semiseg's choice before code 2905f78, measured in BENCHMARKS.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from semiseg.errors import ConfigError
from semiseg.losses import dice_loss, outcome_contrastive_loss, voxel_cosine
from semiseg.methods.base import NetSpec, Progress, SemiBatch, SemiSupervisedMethod, StepOutput
from semiseg.nets import SoftmaxAverage
from semiseg.nets.layers import pointwise_projection
from semiseg.ssl import ramped_weight, strong_intensity


def competition_losses(logits_u: list[Tensor], rank: list[Tensor], temperature: float
                       ) -> tuple[list[Tensor], Tensor]:
    """Dynamic complementary competition: the winner's sharpened output teaches the loser.

    Both directions are computed and the winner's is zeroed by a tensor mask, so the
    decision needs no device-to-host copy.

    Args:
        logits_u: Per student, ``[B, K, *S]`` logits of the unlabeled images (all views).
        rank: Per student, the scalar labeled loss that decides the competition.
        temperature: Sharpening ``softmax(z / T)`` (= ``p^(1/T)`` renormalised).

    Returns:
        Per student the unlabeled loss (0 for the winner), and the winner's index (0-d
        int64 tensor; the second student wins ties, as in C3S3).
    """
    winner = (rank[1] <= rank[0]).long()
    losses = []
    for k in range(2):
        target = (logits_u[1 - k].detach().float() / temperature).softmax(1)
        mse = torch.mean((logits_u[k].float().softmax(1) - target) ** 2)
        losses.append(torch.where(winner == k, torch.zeros_like(mse), mse))
    return losses, winner


class ComplementaryCompetition(SemiSupervisedMethod):
    """Two different students: the better one on labeled data teaches the other."""

    name = "c3s3"

    @dataclass
    class Config:
        """C3S3 hyper-parameters (authors' defaults)."""

        second_network: str = "resunet"
        alpha: float = 0.8
        temperature: float = 0.1
        consistency: float = 0.1
        rampup_fraction: float = 1.0
        projection_channels: int = 16
        contrast_temperature: float = 0.1
        predict_with: str = "both"  # or "first": the configured network alone

    def __init__(self, config: Config, net: NetSpec) -> None:
        super().__init__(config, net)
        if config.predict_with not in ("both", "first"):
            raise ConfigError(f"method.params.predict_with: {config.predict_with!r} is not one "
                              "of ('both', 'first')")
        self.nets = nn.ModuleList([net.build(),
                                   net.build_partner(config.second_network, "second_network")])
        d = net.spatial_dims
        self.projectors = nn.ModuleList(
            pointwise_projection(d, m.channels[0], config.projection_channels)
            for m in self.nets)

    def run(self, k: int, x: Tensor) -> tuple[Tensor, Tensor]:
        """Student ``k`` on ``x``: logits ``[B, K, *S]`` and projections ``[B, D, *S]``."""
        net = self.nets[k]
        features = net.decode_features(net.encode(x))
        return net.head(features), self.projectors[k](features)

    def training_step(self, batch: SemiBatch, progress: Progress) -> StepOutput:
        """Supervised, view-consistency, competition and contrastive losses."""
        cfg, n_l, n = self.config, batch.x_l.shape[0], batch.x_l.shape[0] + batch.x_u.shape[0]
        x_w = torch.cat([batch.x_l, batch.x_u])
        with torch.no_grad():
            x_s = strong_intensity(x_w)
        outs = [self.run(k, torch.cat([x_w, x_s])) for k in range(2)]  # views stacked
        views = [(lg[:n], lg[n:]) for lg, _ in outs]
        loss, logs, rank = 0.0, {}, []
        for k in range(2):
            ce = [F.cross_entropy(v[:n_l].float(), batch.y_l) for v in views[k]]
            dice = [dice_loss(v[:n_l].float().softmax(1), batch.y_l) for v in views[k]]
            rank.append((cfg.alpha * sum(ce) + (1 - cfg.alpha) * sum(dice)).detach())
            sup = (sum(ce) + sum(dice)) / 2
            cosine = 1 - voxel_cosine(views[k][0].float(), views[k][1].float()).mean()
            loss = loss + sup + cosine
            logs.update({f"loss_sup{k + 1}": sup.detach(), f"loss_views{k + 1}": cosine.detach()})
        unlabeled = [torch.cat([v[n_l:] for v in views[k]]) for k in range(2)]
        competition, winner = competition_losses(unlabeled, rank, cfg.temperature)
        weight = ramped_weight(progress.fraction, cfg.consistency, cfg.rampup_fraction)
        loss = loss + weight * sum(competition)
        (lg_a, pr_a), (lg_b, pr_b) = outs
        contrast = sum(outcome_contrastive_loss(pr_a[i:i + n], pr_b[j:j + n], lg_a[i:i + n],
                                                lg_b[j:j + n], cfg.contrast_temperature)
                       for i in (0, n) for j in (0, n))
        loss = loss + 2 * contrast
        logs.update(loss_competition=sum(competition).detach(), winner=winner.float(),
                    loss_contrast=contrast.detach(), w_competition=weight)
        return StepOutput(loss, logs)

    def predictor(self) -> nn.Module:
        """Both students' mean softmax (the authors' test script), or the first student."""
        return SoftmaxAverage(self.nets) if self.config.predict_with == "both" else self.nets[0]
