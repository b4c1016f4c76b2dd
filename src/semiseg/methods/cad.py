"""Confidence-aware adaptive displacement (CAD; Xiao et al., 2025), no public code.

From the paper's abstract (arXiv 2502.00536): ABD-style displacement inside a Mean
Teacher + cross pseudo supervision framework, where the largest low-confidence region
(LLCR) is replaced by high-confidence content, and the maximum replacement size and the
confidence threshold escalate during training (DTE). Realised here as:

- Two networks as in ABD, the first on the weak view (the image), the second on a strong
  photometric view of the same batch; each has a supervised loss (CE + Dice) / 2.
- LLCR on unlabeled images: in each view, voxels whose own network's confidence (max
  softmax) is below ``tau`` form components; the largest one's bounding box, cut to at
  most ``s`` of every side (the window covering most of the component), is overwritten
  by the other view's most confident window of the same size (summed confidence).
- DTE: ``tau`` and ``s`` grow linearly over the run, from ``threshold_start`` 0.75 to
  ``threshold_end`` 0.95 and from ``size_start`` 1/4 (ABD's patch side on its 4x4 grid)
  to ``size_end`` 1/2: early, only small clearly-uncertain regions move; later, larger
  regions and stricter confidence.
- Cross pseudo supervision between the two networks on the original unlabeled views
  (CE on the other's argmax) and Mean Teacher guidance on the displaced ones: an EMA
  teacher of the first network (decay 0.99) labels both displaced images (argmax) and
  both networks learn them by CE. Per network ``sup + w (cps + displaced)`` with
  ``w = 0.1 sigmoid_rampup`` over the run (the CPS/ABD weight).

Deviations: every numeric value above (thresholds, sizes, weights, linear escalation)
is this toolkit's choice, because the paper's are unpublished; ABD-I (labeled
displacement) is not used; the first network is validated and exported.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from semiseg.losses import supervised_loss
from semiseg.methods.base import NetSpec, Progress, SemiBatch, StepOutput, freeze
from semiseg.methods.cps import CrossPseudoSupervision
from semiseg.ssl import ema_update, mean_teacher_decay
from semiseg.ssl.regions import confident_windows, low_confidence_boxes, paste_boxes


class ConfidenceAwareDisplacement(CrossPseudoSupervision):
    """Cross pseudo supervision + EMA teacher on views with their largest doubt replaced."""

    name = "cad"

    @dataclass
    class Config(CrossPseudoSupervision.Config):
        """CAD hyper-parameters (the toolkit's choices; the paper's are unpublished)."""

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
            conf_view, conf_other: ``[B, *S]`` their networks' voxel confidences.
        """
        tau, size = self.escalation(progress)
        starts, sides = low_confidence_boxes(conf_view, tau, size)
        return paste_boxes(view, other, starts, confident_windows(conf_other, sides), sides)

    def training_step(self, batch: SemiBatch, progress: Progress) -> StepOutput:
        """Supervised, cross pseudo-supervision and displaced-view losses of both networks."""
        n_l = batch.x_l.shape[0]
        x_w, x_s, logits = self.weak_strong_logits(batch)
        with torch.no_grad():
            conf = [lg[n_l:].float().softmax(1).max(1).values for lg in logits]
            u_w, u_s = x_w[n_l:], x_s[n_l:]
            displaced = torch.cat([self.displace(u_w, u_s, conf[0], conf[1], progress),
                                   self.displace(u_s, u_w, conf[1], conf[0], progress)])
            target_d = self.teacher(displaced).argmax(1)
        weight = self.pseudo_weight(progress)
        loss, logs = 0.0, {}
        for k, net in enumerate(self.nets):
            loss_sup = supervised_loss(logits[k][:n_l], batch.y_l)
            cps = F.cross_entropy(logits[k][n_l:].float(), logits[1 - k][n_l:].detach().argmax(1))
            disp = F.cross_entropy(net(displaced).float(), target_d)
            loss = loss + loss_sup + weight * (cps + disp)
            logs.update({f"loss_sup{k + 1}": loss_sup.detach(), f"loss_cps{k + 1}": cps.detach(),
                         f"loss_displaced{k + 1}": disp.detach()})
        tau, size = self.escalation(progress)
        logs.update(w_unlabeled=weight, tau=tau, max_side=size)
        return StepOutput(loss, logs)

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
