"""TransMedSeg (Wang et al., 2025, arXiv 2505.14753): transferable semantic augmentation.

From the paper's abstract: teacher features are implicitly augmented toward the
student's semantics through a lightweight memory of class-wise feature statistics
(cross-domain distribution matching + intra-domain structure preservation), and the
closed-form upper bound of the expected cross-entropy over that augmented distribution
is minimised (ISDA-style), at negligible cost. Realised here as:

- Mean Teacher base (SSL4MIS defaults: softmax-MSE consistency, weight ``0.1`` ramped,
  EMA 0.99); the teacher sees labeled and unlabeled images, its argmax pseudo-labels the
  unlabeled ones.
- Memory (persisted buffers, EMA ``memory_decay`` 0.99): per class the mean and
  covariance of the student's last decoder features (labels, then pseudo-labels) and
  the mean of the teacher's.
- Transferable semantic augmentation: a teacher feature ``a`` of class ``y`` is taken
  as drawn from ``N(a + lam (mu_s,y - mu_t,y), lam Sigma_s,y)`` (moved toward the
  student's class mean, spread like the student's class). For the student's linear
  classifier ``w`` the expected CE is bounded (Jensen) by CE on the logits
  ``z_j + lam (w_j - w_y)^T d_y + lam / 2 (w_j - w_y)^T Sigma_y (w_j - w_y)``, computed
  from ``K x K`` tables: negligible cost. ``lam = lambda0 * t`` grows linearly over the
  run (ISDA's schedule, ``lambda0`` 0.5); the term's weight is ``transfer_weight`` (1)
  times the consistency weight. ``transfer_weight: 0`` leaves Mean Teacher with the
  memory and a teacher that also sees the labeled images (an ablation).

Deviations: the paper's numbers are unpublished (all above are the toolkit's choices);
the student's classifier is the UNet's 3x3 output convolution, whose spatially summed
kernel serves as ``w`` in the augmentation terms (exact for features constant over the
3x3 window) while ``z`` is the convolution's real output; only the classifier learns
from the augmented teacher features (they carry no gradient), the rest of the student
from the supervised and consistency losses; the student is validated.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from semiseg.losses import softmax_mse, supervised_loss
from semiseg.methods.base import NetSpec, Progress, SemiBatch, StepOutput
from semiseg.methods.mean_teacher import MeanTeacher


def class_statistics(features: Tensor, labels: Tensor, num_classes: int,
                     covariance: bool = True) -> tuple[Tensor, Tensor, Tensor | None]:
    """Per-class count, mean and covariance of voxel features.

    Args:
        features: ``[B, C, *S]``.
        labels: ``[B, *S]`` int64.
        covariance: Also the covariances (the costly part: ``N x K x C x C``).

    Returns:
        ``count [K]``, ``mean [K, C]``, ``cov [K, C, C]`` (zeros for absent classes;
        population covariance) or None without ``covariance``.
    """
    f = features.detach().float().movedim(1, -1).reshape(-1, features.shape[1])  # [N, C]
    onehot = F.one_hot(labels.reshape(-1), num_classes).to(f.dtype)  # [N, K]
    count = onehot.sum(0)
    safe = count.clamp_min(1)[:, None]
    mean = onehot.T @ f / safe
    if not covariance:
        return count, mean, None
    second = torch.einsum("nk,nc,nd->kcd", onehot, f, f) / safe[:, :, None]
    cov = second - mean[:, :, None] * mean[:, None, :]
    return count, mean, cov


def augmentation_terms(weight: Tensor, shift: Tensor, cov: Tensor, lam: float) -> Tensor:
    """What the augmentation of class ``y`` adds to logit ``j``, as a ``[K, K]`` table.

    Entry ``[y, j]``: ``lam (w_j - w_y)^T shift_y + lam / 2 (w_j - w_y)^T cov_y (w_j - w_y)``.

    Args:
        weight: ``[K, C]`` linear classifier.
        shift: ``[K, C]`` mean shift per class.
        cov: ``[K, C, C]`` covariance per class.
    """
    diff = weight[None, :, :] - weight[:, None, :]  # [y, j, C]: w_j - w_y
    linear = torch.einsum("yjc,yc->yj", diff, shift)
    quadratic = torch.einsum("yjc,ycd,yjd->yj", diff, cov, diff)
    return lam * linear + 0.5 * lam * quadratic


def transferable_cross_entropy(logits: Tensor, target: Tensor, table: Tensor) -> Tensor:
    """ISDA-style upper bound: CE on ``logits + table[target]`` (``[B, K, *S]``, ``[B, *S]``)."""
    extra = table[target].movedim(-1, 1)  # [B, K, *S]
    return F.cross_entropy(logits.float() + extra, target)


class TransMedSeg(MeanTeacher):
    """Mean teacher + transferable semantic augmentation of teacher features."""

    name = "transmedseg"

    @dataclass
    class Config(MeanTeacher.Config):
        """TransMedSeg hyper-parameters (the toolkit's choices)."""

        lambda0: float = 0.5
        memory_decay: float = 0.99
        transfer_weight: float = 1.0

    def __init__(self, config: Config, net: NetSpec) -> None:
        super().__init__(config, net)
        k, c = net.num_classes, self.student.channels[0]
        self.register_buffer("mean_student", torch.zeros(k, c))
        self.register_buffer("cov_student", torch.zeros(k, c, c))
        self.register_buffer("mean_teacher", torch.zeros(k, c))
        self.register_buffer("seen", torch.zeros(k, dtype=torch.bool))

    def classifier_weight(self) -> Tensor:
        """``[K, C]``: the output convolution's kernel summed over its taps."""
        w = self.student.head.weight
        return w.flatten(2).sum(2)

    @torch.no_grad()
    def update_memory(self, feats_s: Tensor, feats_t: Tensor, labels: Tensor) -> None:
        """EMA of the class-wise statistics; a class's first sighting sets them."""
        k, d = self.net_spec.num_classes, self.config.memory_decay
        count, mean_s, cov_s = class_statistics(feats_s, labels, k)
        _, mean_t, _ = class_statistics(feats_t, labels, k, covariance=False)
        present = count > 0
        rate = torch.where(self.seen, 1 - d, 1.0) * present  # [K]
        for buf, new in ((self.mean_student, mean_s), (self.cov_student, cov_s),
                         (self.mean_teacher, mean_t)):
            r = rate.view(-1, *[1] * (new.ndim - 1)).to(buf.dtype)
            buf.mul_(1 - r).add_(r * new.to(buf.dtype))
        self.seen |= present

    def training_step(self, batch: SemiBatch, progress: Progress) -> StepOutput:
        """Supervised + consistency + transferable CE on augmented teacher features."""
        cfg, n_l = self.config, batch.x_l.shape[0]
        x = torch.cat([batch.x_l, batch.x_u])
        feats_s = self.student.decode_features(self.student.encode(x))
        logits = self.student.head(feats_s)
        loss_sup = supervised_loss(logits[:n_l], batch.y_l)
        with torch.no_grad():
            teacher_in = torch.cat([batch.x_l, self.add_noise(batch.x_u)])
            feats_t = self.teacher.decode_features(self.teacher.encode(teacher_in))
            logits_t = self.teacher.head(feats_t)
            labels = torch.cat([batch.y_l, logits_t[n_l:].argmax(1)])
            self.update_memory(feats_s, feats_t, labels)
            seen = self.seen.view(-1, 1).to(feats_t.dtype)
            shift = (self.mean_student - self.mean_teacher) * seen
            cov = self.cov_student * seen.unsqueeze(-1)
        weight = self.consistency_weight(progress)
        loss_cons = softmax_mse(logits[n_l:], logits_t[n_l:].float().softmax(1))
        lam = cfg.lambda0 * min(max(progress.fraction, 0.0), 1.0)
        table = augmentation_terms(self.classifier_weight().float(), shift.float(), cov.float(),
                                   lam)
        loss_tsa = transferable_cross_entropy(self.student.head(feats_t), labels, table)
        loss = loss_sup + weight * (loss_cons + cfg.transfer_weight * loss_tsa)
        return StepOutput(loss, {"loss_sup": loss_sup.detach(), "loss_cons": loss_cons.detach(),
                                 "loss_tsa": loss_tsa.detach(), "w_cons": weight, "lambda": lam})
