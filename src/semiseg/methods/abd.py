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
from torch import Tensor

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

        init_first: str = "default"  # the authors' code keeps PyTorch's initialisation
        init_second: str = "default"
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
            img_i, lab_i = self.labeled_displacement(x_w[:n_l], x_s[:n_l], batch.y_l,
                                                     [p[:n_l] for p in probs])
            img_r = self.unlabeled_displacement(x_w[n_l:], x_s[n_l:],
                                                [lg[n_l:] for lg in logits],
                                                [p[n_l:] for p in probs], progress)
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
        extra, extra_logs = self.displaced_unlabeled_loss(
            img_r, [lg[n_i:] for lg in logits_d], progress)
        logs["w_cross"] = weight
        logs.update(extra_logs)
        return StepOutput(loss + weight * extra, logs)

    def labeled_displacement(self, x_w: Tensor, x_s: Tensor, y: Tensor,
                             probs: list[Tensor]) -> tuple[Tensor, Tensor]:
        """ABD-I: each view's most confident patch <- the other view's least confident one.

        Args:
            x_w, x_s: ``[B_l, C, *S]`` weak and strong views of the labeled images.
            y: ``[B_l, *S]`` their labels.
            probs: both networks' ``[B_l, K, *S]`` softmax on them.

        Returns:
            ``([2 B_l, C, *S] images, [2 B_l, *S] labels)``, each sample displaced with
            probability ``abd_i_p``.
        """
        cfg = self.config
        conf = [patch_confidence(p, cfg.grid) for p in probs]
        idx = (conf[0].argmax(1), conf[1].argmin(1), conf[1].argmax(1), conf[0].argmin(1))
        apply = torch.rand(x_w.shape[0], device=x_w.device) < cfg.abd_i_p
        images = torch.cat(swap_patches(x_w, x_s, cfg.grid, *idx, apply=apply))
        return images, torch.cat(displace_labels(y, y, cfg.grid, *idx, apply=apply))

    def unlabeled_displacement(self, u_w: Tensor, u_s: Tensor, logits: list[Tensor],
                               probs: list[Tensor], progress: Progress) -> Tensor:
        """ABD-R: each view's least confident patch <- the other's most similar confident one.

        Args:
            u_w, u_s: ``[B_u, C, *S]`` weak and strong views of the unlabeled images.
            logits, probs: both networks' ``[B_u, K, *S]`` logits and softmax on them.
            progress: Where training stands (unused by ABD; CAD escalates with it).

        Returns:
            ``[2 B_u, C, *S]``: the displaced weak view, then the displaced strong one.
        """
        cfg = self.config
        conf = [patch_confidence(p, cfg.grid) for p in probs]
        dist = [patch_class_distribution(lg, cfg.grid) for lg in logits]
        idx = abd_r_indices(conf[0], conf[1], dist[0], dist[1], cfg.top_k)
        return torch.cat(swap_patches(u_w, u_s, cfg.grid, *idx))

    def displaced_unlabeled_loss(self, images: Tensor, logits: list[Tensor],
                                 progress: Progress) -> tuple[Tensor, dict[str, Tensor | float]]:
        """An extra unlabeled term on the displaced views, weighted like cross teaching.

        ABD has none (returns 0 and no logs); methods built on it add theirs here.

        Args:
            images: ``[2 B_u, C, *S]`` the displaced unlabeled views.
            logits: both networks' ``[2 B_u, K, *S]`` logits on them (with gradient).
            progress: Where training stands.
        """
        return images.new_zeros(()), {}
