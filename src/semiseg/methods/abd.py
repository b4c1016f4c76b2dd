"""Adaptive bidirectional displacement (ABD; Chi et al., CVPR 2024), authors' ACDC defaults.

Cross teaching between two networks, the first on the weak view and the second on a
strong (photometric) view of the same batch. Images are cut into a 4x4 patch grid
(``grid ** D`` patches in D dimensions):

- ABD-R on unlabeled images: each view's least confident patch is replaced by the one of
  the other view's 4 most confident patches whose class distribution is closest (KL);
  both networks then predict both displaced views and teach each other (Dice on the
  other's argmax).
- ABD-I on labeled images, each sample with probability 1/2: each view's most confident
  patch is replaced by the other view's least confident one, labels moved along; both
  networks learn the displaced pairs (weight 2, for the first 2/3 of the run).

Per network: ``sup + 2 abd_i + w (cross(orig) + cross(abd_r))`` with
``w = 0.1 sigmoid_rampup`` over the run, as the authors' cross-teaching script.

Deviations: the second network is a UNet (the authors' ACDC script pairs the UNet with a
Swin-UNet); the displaced views of both kinds go through each network in one forward
pass; the strong view is brightness/contrast jitter + blur (no geometric change).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from semiseg.losses import dice_loss, supervised_loss
from semiseg.methods.base import Progress, SemiBatch, StepOutput
from semiseg.methods.cps import CrossPseudoSupervision
from semiseg.ssl import (
    abd_r_indices,
    displace_labels,
    patch_class_distribution,
    patch_confidence,
    swap_patches,
)


class AdaptiveBidirectionalDisplacement(CrossPseudoSupervision):
    """Cross teaching on weak/strong views with confidence-guided patch displacement."""

    name = "abd"

    @dataclass
    class Config(CrossPseudoSupervision.Config):
        """ABD hyper-parameters (authors' ACDC defaults)."""

        grid: int = 4
        top_k: int = 4
        abd_i_weight: float = 2.0
        abd_i_until: float = 2 / 3
        abd_i_p: float = 0.5

    def training_step(self, batch: SemiBatch, progress: Progress) -> StepOutput:
        """Supervised, ABD-I and cross-teaching losses of both networks."""
        cfg = self.config
        n_l = batch.x_l.shape[0]
        x_w, x_s, logits = self.weak_strong_logits(batch)
        with torch.no_grad():
            probs = [lg.float().softmax(1) for lg in logits]
            conf_l = [patch_confidence(p[:n_l], cfg.grid) for p in probs]
            conf_u = [patch_confidence(p[n_l:], cfg.grid) for p in probs]
            dist_u = [patch_class_distribution(lg[n_l:], cfg.grid) for lg in logits]
            # ABD-I: most confident patch <- the other view's least confident one
            idx_i = (conf_l[0].argmax(1), conf_l[1].argmin(1), conf_l[1].argmax(1),
                     conf_l[0].argmin(1))
            apply = torch.rand(n_l, device=x_w.device) < cfg.abd_i_p
            img_i = torch.cat(swap_patches(x_w[:n_l], x_s[:n_l], cfg.grid, *idx_i, apply=apply))
            lab_i = torch.cat(displace_labels(batch.y_l, batch.y_l, cfg.grid, *idx_i,
                                              apply=apply))
            # ABD-R: least confident patch <- the other view's most similar confident one
            idx_r = abd_r_indices(conf_u[0], conf_u[1], dist_u[0], dist_u[1], cfg.top_k)
        img_r = torch.cat(swap_patches(batch.x_u, x_s[n_l:], cfg.grid, *idx_r))
        n_i = img_i.shape[0]
        logits_d = [net(torch.cat([img_i, img_r])) for net in self.nets]
        use_i = progress.fraction < cfg.abd_i_until
        weight = self.pseudo_weight(progress)
        loss, logs = 0.0, {}
        for k in range(2):
            other = 1 - k
            loss_sup = supervised_loss(logits[k][:n_l], batch.y_l)
            loss_i = (supervised_loss(logits_d[k][:n_i], lab_i) if use_i
                      else logits_d[k].new_zeros(()))
            cross = (dice_loss(logits[k][n_l:].float().softmax(1),
                               logits[other][n_l:].detach().argmax(1))
                     + dice_loss(logits_d[k][n_i:].float().softmax(1),
                                 logits_d[other][n_i:].detach().argmax(1)))
            loss = loss + loss_sup + cfg.abd_i_weight * loss_i + weight * cross
            logs[f"loss_sup{k + 1}"] = loss_sup.detach()
            logs[f"loss_cross{k + 1}"] = cross.detach()
            logs[f"loss_abd_i{k + 1}"] = loss_i.detach()
        logs["w_cross"] = weight
        return StepOutput(loss, logs)
