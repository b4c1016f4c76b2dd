"""Mutual evidential deep learning (MEDL; He et al., 2025, arXiv 2505.12418), no public code.

From the paper's abstract: two networks of different architecture produce Dirichlet
evidence; a class-aware evidential fusion builds pseudo-labels for unlabeled images; a
Fisher-information-based asymptotic weighting moves the unlabeled learning from
reliable to hard voxels; an uncertainty-driven asymptotic learning on labeled voxels
stresses uncertain ones over training. Realised here as:

- Networks: the configured network (a UNet) and a ResNet-34-encoder UNet, their logits
  read as evidence ``exp(clamp(z, ±10))`` (:mod:`semiseg.losses.evidential`).
- Class-aware fusion: per class, the two opinions' evidences are averaged with weights
  proportional to each network's running per-class Dice on labeled images (EMA 0.99,
  persisted); the fused opinion's argmax is the pseudo-label, its uncertainty mass
  ``u = K / S`` the voxel's doubt.
- Unlabeled loss (each network, toward the fused pseudo-label): the Fisher-information
  weighted evidential MSE, voxels weighted ``(1 - u) ** gamma`` with ``gamma`` falling
  linearly from ``gamma_start`` 2 to 0 over the run: early only reliable voxels count,
  at the end all do. Weight ``0.1 sigmoid_rampup`` (the CPS weight).
- Labeled loss (each network): evidential cross-entropy (``psi(S) - psi(alpha_y)``) with
  voxel weights ``1 + lambda u`` (own uncertainty, ``lambda`` rising linearly from 0 to
  1: hard voxels gain weight as training goes on) + Dice on the expected probabilities
  + the misleading-evidence KL term, its weight rising linearly to ``kl_weight`` 0.1
  over the first half of the run.

Deviations: all of the above numbers and the exact forms (fusion weights, weighting
schedules) are this toolkit's choices, as the paper's are unpublished; the first
network is validated and exported.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from semiseg.losses import dice_loss
from semiseg.losses.evidential import (
    dirichlet,
    evidential_cross_entropy,
    fisher_weighted_mse,
    fuse_opinions,
    kl_to_uniform,
    uncertainty,
)
from semiseg.methods.base import NetSpec, Progress, SemiBatch, SemiSupervisedMethod, StepOutput
from semiseg.ssl import ramped_weight


def per_class_dice(prob: Tensor, target: Tensor) -> Tensor:
    """Soft Dice per class over the batch: ``[B, K, *S], [B, *S] -> [K]``."""
    y = torch.nn.functional.one_hot(target, prob.shape[1]).movedim(-1, 1).to(prob.dtype)
    dims = (0, *range(2, prob.ndim))
    return (2 * (prob * y).sum(dims) + 1e-5) / (prob.sum(dims) + y.sum(dims) + 1e-5)


class MutualEvidential(SemiSupervisedMethod):
    """Two evidential networks, fused pseudo-labels, asymptotic voxel weighting."""

    name = "medl"

    @dataclass
    class Config:
        """MEDL hyper-parameters (the toolkit's choices; the paper's are unpublished)."""

        second_network: str = "resunet"
        consistency: float = 0.1
        rampup_fraction: float = 1.0
        gamma_start: float = 2.0
        lambda_end: float = 1.0
        kl_weight: float = 0.1
        kl_rampup_fraction: float = 0.5
        reliability_decay: float = 0.99

    def __init__(self, config: Config, net: NetSpec) -> None:
        super().__init__(config, net)
        self.nets = nn.ModuleList([net.build(),
                                   net.build_partner(config.second_network, "second_network")])
        # running per-class Dice of each network on labeled images (fusion weights)
        self.register_buffer("reliability", torch.full((2, net.num_classes), 0.5))

    def class_weights(self) -> Tensor:
        """Weight ``[K]`` of the first network's evidence per class."""
        r = self.reliability.clamp_min(1e-3)
        return r[0] / r.sum(0)

    def training_step(self, batch: SemiBatch, progress: Progress) -> StepOutput:
        """Labeled evidential losses + weighted losses toward the fused pseudo-labels."""
        cfg, n_l, f = self.config, batch.x_l.shape[0], min(max(progress.fraction, 0.0), 1.0)
        x = torch.cat([batch.x_l, batch.x_u])
        alphas = [dirichlet(net(x)) for net in self.nets]
        with torch.no_grad():
            fused = fuse_opinions(alphas[0][n_l:], alphas[1][n_l:], self.class_weights())
            pseudo = fused.argmax(1)
            reliable = (1 - uncertainty(fused)) ** (cfg.gamma_start * (1 - f))
            dices = [per_class_dice(a[:n_l] / a[:n_l].sum(1, keepdim=True), batch.y_l)
                     for a in alphas]
        weight_u = ramped_weight(f, cfg.consistency, cfg.rampup_fraction)
        kl_weight = cfg.kl_weight * min(1.0, f / max(cfg.kl_rampup_fraction, 1e-8))
        loss, logs = 0.0, {}
        for k, alpha in enumerate(alphas):
            a_l = alpha[:n_l]
            doubt = uncertainty(a_l).detach()
            sup = (evidential_cross_entropy(a_l, batch.y_l, 1 + cfg.lambda_end * f * doubt)
                   + dice_loss(a_l / a_l.sum(1, keepdim=True), batch.y_l))
            kl = kl_to_uniform(a_l, batch.y_l)
            unsup = fisher_weighted_mse(alpha[n_l:], pseudo, reliable)
            loss = loss + sup + kl_weight * kl + weight_u * unsup
            logs.update({f"loss_sup{k + 1}": sup.detach(), f"loss_kl{k + 1}": kl.detach(),
                         f"loss_unsup{k + 1}": unsup.detach()})
        self._pending_dice = torch.stack(dices)
        logs.update(w_unlabeled=weight_u, w_kl=kl_weight,
                    reliable_mean=reliable.mean().detach())
        return StepOutput(loss, logs)

    def on_after_optimizer_step(self, progress: Progress) -> None:
        """Update the per-class reliabilities with this step's labeled Dice."""
        pending = getattr(self, "_pending_dice", None)
        if pending is not None:
            d = self.config.reliability_decay
            self.reliability.mul_(d).add_((1 - d) * pending.to(self.reliability))
            self._pending_dice = None

    def predictor(self) -> nn.Module:
        """The first network."""
        return self.nets[0]
