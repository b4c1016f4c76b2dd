"""Confidence-aware adaptive displacement (CAD; Xiao et al., 2025), no public code.

From the paper's abstract (arXiv 2502.00536): CAD is built on ABD, inside a Mean
Teacher + cross pseudo supervision framework; its unlabeled displacement replaces the
largest low-confidence region (LLCR) by high-confidence content, and the maximum
replacement size and the confidence threshold escalate during training (DTE). Realised
here as ABD (:mod:`semiseg.methods.abd`: two networks on a weak and a strong view,
ABD-I on labeled images, cross teaching on the original and the displaced unlabeled
views) with two changes:

- LLCR replaces ABD-R on unlabeled images: in each view, voxels whose own network's
  confidence (max softmax) is below ``tau`` form components; the largest one's bounding
  box, cut to at most ``s`` of every side (the window covering most of the component),
  is overwritten by the other view's most confident window of the same size (summed
  confidence), instead of one cell of a fixed 4x4 grid.
- DTE: ``tau`` and ``s`` grow linearly over the run, from ``threshold_start`` 0.75 to
  ``threshold_end`` 0.95 and from ``size_start`` 1/4 (ABD's patch side on its 4x4 grid)
  to ``size_end`` 1/2: early, only small clearly-uncertain regions move; later, larger
  regions and stricter confidence.
- Mean Teacher guidance: an EMA teacher of the first network (decay 0.99) labels both
  displaced views (argmax) and both networks learn them by CE, weighted like the cross
  teaching (``w = 0.1 sigmoid_rampup`` over the run). Per network:
  ``sup + 2 abd_i + w (cross(orig) + cross(displaced) + teacher(displaced))``.

Deviations: every numeric value above (thresholds, sizes, linear escalation, the
teacher term's weight) is this toolkit's choice, because the paper's are unpublished;
ABD's ``top_k`` is unused (LLCR picks the single most confident window); the second
network is a UNet, as in this toolkit's ABD; the first network is validated and
exported.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from semiseg.methods.abd import AdaptiveBidirectionalDisplacement
from semiseg.methods.base import NetSpec, Progress, freeze
from semiseg.ssl import ema_update, mean_teacher_decay
from semiseg.ssl.regions import confident_windows, low_confidence_boxes, paste_boxes


class ConfidenceAwareDisplacement(AdaptiveBidirectionalDisplacement):
    """ABD whose unlabeled displacement moves the largest doubt, plus an EMA teacher."""

    name = "cad"

    @dataclass
    class Config(AdaptiveBidirectionalDisplacement.Config):
        """CAD hyper-parameters (ABD's, plus the toolkit's choices for LLCR and DTE)."""

        threshold_start: float = 0.75
        threshold_end: float = 0.95
        size_start: float = 0.25
        size_end: float = 0.5
        ema_decay: float = 0.99

    def __init__(self, config: Config, net: NetSpec) -> None:
        super().__init__(config, net)
        self.teacher = freeze(copy.deepcopy(self.nets[0]))

    def escalation(self, progress: Progress) -> tuple[float, float]:
        """Dynamic threshold escalation: ``(tau, s)`` at this point of the run."""
        f, cfg = min(max(progress.fraction, 0.0), 1.0), self.config
        return (cfg.threshold_start + f * (cfg.threshold_end - cfg.threshold_start),
                cfg.size_start + f * (cfg.size_end - cfg.size_start))

    def displace(self, view: Tensor, other: Tensor, conf_view: Tensor, conf_other: Tensor,
                 progress: Progress) -> Tensor:
        """``view`` with its largest low-confidence box replaced by ``other``'s best window.

        Args:
            view, other: ``[B, C, *S]`` two views of the same images.
            conf_view, conf_other: ``[B, *S]`` their networks' voxel confidences, best on
                the host (the boxes are computed where they lie).
        """
        tau, size = self.escalation(progress)
        starts, sides = low_confidence_boxes(conf_view, tau, size)
        return paste_boxes(view, other, starts, confident_windows(conf_other, sides), sides)

    def unlabeled_displacement(self, u_w: Tensor, u_s: Tensor, logits: list[Tensor],
                               probs: list[Tensor], progress: Progress) -> Tensor:
        """LLCR both ways: ``[2 B_u, C, *S]``, the displaced weak view then the strong one."""
        # The boxes are data-dependent slices, found on the host: one copy of both
        # confidence maps costs one device sync a step, where finding them on the GPU
        # synced ~90 times (per-sample nonzero, component rounds; measured on an H200).
        conf = torch.stack([p.max(1).values for p in probs]).cpu()
        return torch.cat([self.displace(u_w, u_s, conf[0], conf[1], progress),
                          self.displace(u_s, u_w, conf[1], conf[0], progress)])

    def displaced_unlabeled_loss(self, images: Tensor, logits: list[Tensor],
                                 progress: Progress) -> tuple[Tensor, dict[str, Tensor | float]]:
        """Both networks' CE to the EMA teacher's argmax on the displaced views."""
        with torch.no_grad():
            target = self.teacher(images).argmax(1)
        terms = [F.cross_entropy(lg.float(), target) for lg in logits]
        tau, size = self.escalation(progress)
        logs: dict[str, Tensor | float] = {f"loss_teacher{k + 1}": t.detach()
                                           for k, t in enumerate(terms)}
        logs.update(tau=tau, max_side=size)
        return terms[0] + terms[1], logs

    def on_after_optimizer_step(self, progress: Progress) -> None:
        """EMA update of the teacher from the first network."""
        ema_update(self.teacher, self.nets[0], mean_teacher_decay(progress.step,
                                                                  self.config.ema_decay))

    def optimizer_groups(self) -> dict[str, list[nn.Parameter]]:
        """Both networks, not the teacher."""
        return {"nets": list(self.nets.parameters())}

    def teachers(self) -> list[nn.Module]:
        """The EMA teacher."""
        return [self.teacher]
