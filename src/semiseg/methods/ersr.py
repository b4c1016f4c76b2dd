"""ERSR: ellipse-constrained pseudo-labels and symmetry consistency (Zhou et al.), no public code.

For elliptic targets such as the fetal head in ultrasound (HC18), from the paper's
abstract; 2D, one foreground class. Mean Teacher base (SSL4MIS defaults), and:

- Dual-scoring adaptive filtering: each unlabeled image's teacher mask is scored for
  boundary consistency (IoU with the ellipse fitted to its outline) and contour
  regularity (largest-component share x ellipse perimeter / contour length); the
  product is compared with an adaptive threshold, the EMA (decay 0.99, persisted) of the
  batches' mean scores, floored at ``min_score`` 0.5. Rejected images keep only the
  consistency term.
- Ellipse refinement of kept pseudo-labels: the filled fitted ellipse (noise outside it
  and holes inside are gone) is the target, with voxel weights 1 deep inside (centre
  strengthened) and far outside, falling to 0.5 on the outline (noise suppressed);
  weighted CE + Dice.
- Symmetry-based multi-level consistency: (1) the student sees a strong photometric
  perturbation of the unlabeled image and matches the teacher (softmax MSE, Mean
  Teacher's term); (2) for kept images, the student's probabilities are matched with
  their mirror image about the fitted ellipse's major axis, inside the ellipse grown by
  ``band``; (3) prediction vs refined pseudo-label (above).

``loss = sup + w (cons + symmetry_weight sym) + w_pl pl`` with ``w`` Mean Teacher's
ramped consistency weight (0.1) and ``w_pl = pseudo_weight`` (1.0) on the same ramp.

Deviations: all numbers above are the toolkit's choices (the paper's are unpublished);
the ellipse fit runs on the CPU (a device-to-host copy of the unlabeled teacher masks
per step); the student is validated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from semiseg.errors import ConfigError
from semiseg.losses import dice_loss, masked_cross_entropy, softmax_mse, supervised_loss
from semiseg.methods.base import NetSpec, Progress, SemiBatch, StepOutput
from semiseg.methods.mean_teacher import MeanTeacher
from semiseg.metrics.ellipse import elliptic_radius
from semiseg.ssl import ramped_weight, strong_intensity
from semiseg.ssl.shape import ellipse_label, mirror_grid, shape_scores


class EllipseRefinedSelfTraining(MeanTeacher):
    """Mean teacher with ellipse-filtered, ellipse-refined pseudo-labels and symmetry."""

    name = "ersr"
    supported_dims = (2,)

    @dataclass
    class Config(MeanTeacher.Config):
        """ERSR hyper-parameters (the toolkit's choices; the paper's are unpublished)."""

        pseudo_weight: float = 1.0
        symmetry_weight: float = 1.0
        min_score: float = 0.5
        score_decay: float = 0.99
        band: float = 0.1

    def __init__(self, config: Config, net: NetSpec) -> None:
        super().__init__(config, net)
        if net.num_classes != 2:
            raise ConfigError(f"config key 'method.name': ersr segments one elliptic "
                              f"structure (2 classes), the data set has {net.num_classes}")
        self.register_buffer("score_threshold", torch.tensor(config.min_score))

    def refine(self, teacher_labels: torch.Tensor) -> dict[str, object]:
        """Scores, kept images, refined labels, weights and symmetry data of a batch.

        Args:
            teacher_labels: ``[B, H, W]`` int64 teacher argmax.
        """
        masks = (teacher_labels > 0).cpu().numpy()
        shape = masks.shape[1:]
        scores, labels, weights, grids, regions, keep = [], [], [], [], [], []
        threshold = float(self.score_threshold)
        for mask in masks:
            boundary, regularity, ellipse = shape_scores(mask)
            score = boundary * regularity
            scores.append(score)
            ok = ellipse is not None and score >= threshold
            keep.append(ok)
            if ok:
                radius = elliptic_radius(shape, ellipse)
                label, weight = ellipse_label(radius, self.config.band)
                grids.append(mirror_grid(ellipse, shape))
                regions.append(radius <= 1 + self.config.band)
            else:
                label, weight = np.zeros(shape, bool), np.zeros(shape, np.float32)
                grids.append(torch.zeros(1, *shape, 2))
                regions.append(np.zeros(shape, bool))
            labels.append(label)
            weights.append(weight)
        return {"scores": scores, "keep": keep,
                "labels": torch.from_numpy(np.stack(labels)).long(),
                "weights": torch.from_numpy(np.stack(weights)),
                "grids": torch.cat(grids), "regions": torch.from_numpy(np.stack(regions))}

    def training_step(self, batch: SemiBatch, progress: Progress) -> StepOutput:
        """Supervised + perturbation consistency + symmetry + refined pseudo-labels."""
        cfg, n_l, device = self.config, batch.x_l.shape[0], batch.x_l.device
        x_strong = strong_intensity(batch.x_u)  # differentiable: the student's view of x_u
        logits = self.student(torch.cat([batch.x_l, x_strong]))
        loss_sup = supervised_loss(logits[:n_l], batch.y_l)
        with torch.no_grad():
            prob_t = self.teacher(self.add_noise(batch.x_u)).float().softmax(1)
            ref = self.refine(prob_t.argmax(1))
            scores = ref["scores"]
            if scores:  # adaptive threshold: EMA of the batches' mean score
                d = cfg.score_decay
                new = d * float(self.score_threshold) + (1 - d) * float(np.mean(scores))
                self.score_threshold.fill_(max(cfg.min_score, new))
        logits_u = logits[n_l:]
        loss_cons = softmax_mse(logits_u, prob_t)
        keep = torch.tensor(ref["keep"], device=device)
        zero = logits_u.new_zeros((), dtype=torch.float32)
        loss_pl, loss_sym = zero, zero
        if bool(keep.any()):
            kept = logits_u[keep].float()
            target = ref["labels"].to(device)[keep]
            weight = ref["weights"].to(device)[keep]
            loss_pl = (masked_cross_entropy(kept, target, weight)
                       + dice_loss(kept.softmax(1), target, weight=weight))
            prob = kept.softmax(1)
            mirrored = F.grid_sample(prob, ref["grids"].to(device)[keep], mode="bilinear",
                                     padding_mode="border", align_corners=True)
            region = ref["regions"].to(device)[keep].unsqueeze(1).to(prob.dtype)
            loss_sym = (((prob - mirrored) ** 2) * region).sum() / (
                region.sum() * prob.shape[1] + 1e-8)
        weight_c = self.consistency_weight(progress)
        weight_pl = ramped_weight(progress.fraction, cfg.pseudo_weight, cfg.rampup_fraction,
                                  cfg.warmup_fraction)
        loss = (loss_sup + weight_c * (loss_cons + cfg.symmetry_weight * loss_sym)
                + weight_pl * loss_pl)
        return StepOutput(loss, {"loss_sup": loss_sup.detach(), "loss_cons": loss_cons.detach(),
                                 "loss_sym": loss_sym.detach(), "loss_pl": loss_pl.detach(),
                                 "kept_share": float(np.mean(ref["keep"])) if ref["keep"] else 0.0,
                                 "score_threshold": float(self.score_threshold),
                                 "w_cons": weight_c, "w_pl": weight_pl})
