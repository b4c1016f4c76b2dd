"""Self-paced contrastive learning with meta-labels (SPCL; Peng et al., NeurIPS 2021).

Two methods, both 2D (slices of volumes), following the authors' code
(jizongFox/Self-paced-Contrastive-Learning) as summarised in ../shared/methods.md:

- ``spcl_pretrain``: contrastive pre-training without any mask. Phase ``encoder``: the
  bottleneck features, averaged over space and projected by an MLP head (to 128),
  learn a supervised InfoNCE (temperature 0.07) whose positives share a meta-label
  (:mod:`semiseg.data.meta`: slice position partition of K = 4 by default, patient,
  phase, or ``+``-combinations); positive pairs are weighted self-paced (``soft``
  linear or ``hard``), the threshold gamma growing linearly over the phase from
  ``gamma_start`` to ``gamma_end`` so that hard pairs enter later. Phase ``decoder``
  (encoder frozen): dense contrast of the last decoder features projected by 1x1 convs
  and pooled to a 4x4 grid of regions, positives = the same region of images with the
  same meta-label. Batches of unlabeled images are drawn as whole volumes x K
  partitions on the training device, so positives are always present. The checkpoint
  initialises any method: ``train.init_from`` (``semiseg train --init-from``).
- ``spcl``: semi-supervised fine-tuning: the supervised loss plus the encoder-level
  self-paced contrastive regulariser on unlabeled images (weight 0.1).

Deviations: both phases take half the pre-training run; gamma runs from 2 to 10 in
units of the pair loss ``-log p`` (the code's schedule shape, values chosen for batch
sizes of 12-48), the fine-tuning weight 0.1 is the toolkit's choice; the dense stage
pools regions instead of the code's fixed-size local windows; meta-labels that need
both frames of a patient in a batch (patient, phase) only find positives when the
sampled volumes include them; the toolkit's optimizer (SGD 0.01, poly) instead of the
code's RAdam (peak learning rate 4e-5 after a warm-up over 10 of 75 epochs, weight decay
1e-5, 15000 steps per stage), which is tuned for runs ten times longer than the CPU
protocol's 1500 steps per stage; for the code's optimizer set ``optim.name: radam``,
``optim.lr: 4e-5``, ``optim.weight_decay: 1e-5``, ``optim.schedule: cosine``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from semiseg.data.meta import combine, meta_label, meta_label_names
from semiseg.errors import ConfigError
from semiseg.losses import supervised_info_nce, supervised_loss
from semiseg.methods.base import NetSpec, Progress, SemiBatch, SemiSupervisedMethod, StepOutput
from semiseg.nets.layers import pointwise_projection


def projection_head(channels: int, out: int = 128) -> nn.Module:
    """Global projection: ``[B, C, *S]`` -> average over space -> MLP -> ``[B, out]``."""
    return nn.Sequential(nn.Flatten(2), _Mean(), nn.Linear(channels, channels),
                         nn.ReLU(inplace=True), nn.Linear(channels, out))


class _Mean(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.mean(-1)


def self_paced_gamma(start: float, end: float, phase_step: int, phase_steps: int) -> float:
    """Threshold of the self-paced weights: linear from ``start`` to ``end`` over a phase."""
    return start + (end - start) * min(phase_step / max(phase_steps - 1, 1), 1.0)


class _MetaContrast(SemiSupervisedMethod):
    """Shared parts: meta-labels, grouped sampling, the encoder-level contrast."""

    supported_dims = (2,)

    @dataclass
    class Config:
        """Hyper-parameters of the meta-label contrast, shared by both methods."""

        meta_label: str = "partition"
        partitions: int = 4
        temperature: float = 0.07
        self_paced: str = "soft"
        gamma_start: float = 2.0
        gamma_end: float = 10.0
        projection: int = 128

    def __init__(self, config: Config, net: NetSpec) -> None:
        super().__init__(config, net)
        try:
            meta_label_names(config.meta_label)
        except ValueError as e:
            raise ConfigError(f"method.params.meta_label: {e}") from None

    def grouped_partitions(self) -> int:
        """Unlabeled batches of whole volumes x K partitions."""
        return self.config.partitions

    def labels(self, batch: SemiBatch) -> Tensor:
        """Meta-labels ``[B_u]`` of the unlabeled images."""
        return meta_label(batch.meta, self.config.meta_label, self.config.partitions, "_u")

    def encoder_contrast(self, net: nn.Module, head: nn.Module, x: Tensor, labels: Tensor,
                         gamma: float) -> tuple[Tensor, Tensor]:
        """Self-paced supervised InfoNCE of projected bottleneck features."""
        z = head(net.encode(x)[-1])
        return supervised_info_nce(z, labels, self.config.temperature, gamma,
                                   self.config.self_paced)


class ContrastivePretraining(_MetaContrast):
    """Meta-label contrastive pre-training of the encoder, then of the decoder."""

    name = "spcl_pretrain"
    phases = ("encoder", "decoder")
    find_unused_parameters = True  # each stage trains only its half of the network

    @dataclass
    class Config(_MetaContrast.Config):
        """SPCL pre-training hyper-parameters."""

        regions: int = 4

    def __init__(self, config: Config, net: NetSpec) -> None:
        super().__init__(config, net)
        self.net = net.build()
        c_top, c_dec = self.net.channels[-1], self.net.channels[0]
        self.global_head = projection_head(c_top, config.projection)
        d = net.spatial_dims
        self.dense_head = pointwise_projection(d, c_dec, config.projection // 2)

    @classmethod
    def phase_steps(cls, config: Config, total_steps: int) -> dict[str, int]:
        """Half the run for each stage."""
        half = total_steps // 2
        return {"encoder": half, "decoder": total_steps - half}

    def training_step(self, batch: SemiBatch, progress: Progress) -> StepOutput:
        """Encoder- or decoder-level self-paced contrast on the unlabeled images."""
        cfg = self.config
        labels = self.labels(batch)
        gamma = self_paced_gamma(cfg.gamma_start, cfg.gamma_end, progress.phase_step,
                                 progress.phase_steps)
        if progress.phase == "encoder":
            loss, share = self.encoder_contrast(self.net, self.global_head, batch.x_u, labels,
                                                gamma)
            return StepOutput(loss, {"loss_encoder": loss.detach(), "pairs_used": share,
                                     "gamma": gamma})
        with torch.no_grad():
            feats = [f.detach() for f in self.net.encode(batch.x_u)]
        dense = self.dense_head(self.net.decode_features(feats))
        pooled = F.adaptive_avg_pool2d(dense.float(), cfg.regions).flatten(2)  # [B, D, R]
        b, _, r = pooled.shape
        region = torch.arange(r, device=labels.device).repeat(b)
        cell_labels = combine([labels.repeat_interleave(r), region])
        loss, share = supervised_info_nce(pooled.transpose(1, 2).reshape(b * r, -1),
                                          cell_labels, cfg.temperature, gamma, cfg.self_paced)
        return StepOutput(loss, {"loss_decoder": loss.detach(), "pairs_used": share,
                                 "gamma": gamma})

    def predictor(self) -> nn.Module:
        """The pre-trained network (its output convolution is still untrained)."""
        return self.net


class SelfPacedContrastive(_MetaContrast):
    """Supervised loss + self-paced meta-label contrast on unlabeled images."""

    name = "spcl"

    @dataclass
    class Config(_MetaContrast.Config):
        """SPCL fine-tuning hyper-parameters."""

        contrastive_weight: float = 0.1

    def __init__(self, config: Config, net: NetSpec) -> None:
        super().__init__(config, net)
        self.student = net.build()
        self.global_head = projection_head(self.student.channels[-1], config.projection)

    def training_step(self, batch: SemiBatch, progress: Progress) -> StepOutput:
        """``sup + w contrast``."""
        cfg = self.config
        loss_sup = supervised_loss(self.student(batch.x_l), batch.y_l)
        gamma = self_paced_gamma(cfg.gamma_start, cfg.gamma_end, progress.step,
                                 progress.total_steps)
        contrast, share = self.encoder_contrast(self.student, self.global_head, batch.x_u,
                                                self.labels(batch), gamma)
        loss = loss_sup + cfg.contrastive_weight * contrast
        return StepOutput(loss, {"loss_sup": loss_sup.detach(),
                                 "loss_contrast": contrast.detach(), "pairs_used": share,
                                 "gamma": gamma})

    def predictor(self) -> nn.Module:
        """The segmenter."""
        return self.student
